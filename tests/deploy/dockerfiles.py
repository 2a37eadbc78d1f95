"""Dockerfiles and .dockerignore, read without a container engine.

- :func:`instructions` splits a Dockerfile into instructions (continuations joined, comments and
  parser directives dropped) and :func:`stages` groups them by ``FROM``.
- :class:`IgnoreRules` answers "does this path reach the build context?" with Docker's rules:
  patterns are matched against the path and each of its parent directories (so ``*`` drops a
  whole top-level directory), ``**`` matches any number of directories, ``!`` re-includes, and
  the last matching line wins.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import List, Optional, Tuple


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class Stage:
    base: str
    name: Optional[str]
    instructions: List[Instruction] = field(default_factory=list)


def instructions(text: str) -> List[Instruction]:
    out: List[Instruction] = []
    buffer: List[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        joined = " ".join(part for part in buffer if part)
        keyword, _, arguments = joined.partition(" ")
        out.append(Instruction(keyword.upper(), arguments.strip(), start))
        buffer = []
    if buffer:
        raise ValueError(f"line {start}: the last instruction ends with a continuation")
    return out


def stages(text: str) -> Tuple[List[Tuple[str, str]], List[Stage]]:
    """(global ARGs before the first FROM as (name, default), stages)."""
    global_args: List[Tuple[str, str]] = []
    out: List[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            out.append(Stage(words[0], name))
        elif not out:
            if instruction.keyword != "ARG":
                raise ValueError(f"line {instruction.line}: {instruction.keyword} before the first FROM")
            name, _, default = instruction.arguments.partition("=")
            global_args.append((name.strip(), default.strip()))
        else:
            out[-1].instructions.append(instruction)
    if not out:
        raise ValueError("no FROM instruction")
    return global_args, out


def resolve_base(base: str, global_args: List[Tuple[str, str]]) -> str:
    values = dict(global_args)
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: values.get(m.group(1), m.group(0)), base)


def copy_sources(instruction: Instruction) -> Tuple[List[str], str, Optional[str]]:
    """(sources, destination, --from stage) of a COPY or ADD."""
    arguments = instruction.arguments
    if arguments.startswith("["):
        parts = json.loads(arguments)
    else:
        parts = shlex.split(arguments)
    from_stage = None
    plain = []
    for part in parts:
        if part.startswith("--from="):
            from_stage = part.split("=", 1)[1]
        elif part.startswith("--"):
            continue
        else:
            plain.append(part)
    if len(plain) < 2:
        raise ValueError(f"line {instruction.line}: {instruction.keyword} needs a source and a destination")
    return plain[:-1], plain[-1], from_stage


def final_user(stage: Stage) -> Optional[str]:
    users = [i.arguments for i in stage.instructions if i.keyword == "USER"]
    return users[-1] if users else None


def image_tag(reference: str) -> Optional[str]:
    """The tag of an image reference (``None`` when untagged; digests count as pinned)."""
    if "@sha256:" in reference:
        return reference.split("@", 1)[1]
    last = reference.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


# -- .dockerignore --------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


@dataclass(frozen=True)
class IgnoreRule:
    pattern: str
    exclude: bool  # False for a "!" line
    regex: re.Pattern[str]


class IgnoreRules:
    def __init__(self, text: str) -> None:
        self.rules: List[IgnoreRule] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = line[1:].strip() if include else line
            pattern = str(PurePosixPath(pattern.strip("/"))) if pattern.strip("/") else "."
            self.rules.append(IgnoreRule(pattern, not include, _pattern_regex(pattern)))

    def ignored(self, path: str) -> bool:
        """True when ``path`` (relative to the context, files or directories) is left out."""
        parts = PurePosixPath(path.strip("/")).parts
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        verdict = False
        for rule in self.rules:
            if any(rule.regex.match(candidate) for candidate in candidates):
                verdict = rule.exclude
        return verdict
