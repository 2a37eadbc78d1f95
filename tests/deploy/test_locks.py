"""Runtime and development dependencies are split: the images install the runtime locks only
(``requirements/app.lock``, ``requirements/rasa.lock``), the virtualenvs add ``requirements/dev.lock`` and
``requirements/rasa-dev.lock`` for tests and tools. The runtime lock is exactly what pyproject.toml's dependencies
need, read from the installed packages' own metadata: nothing missing, nothing extra.

Every lock is written by ``make lock`` (scripts/lock, uv) with sha256 hashes: its header records the command and a
digest of the pins, so a lock edited by hand fails here before pip's ``--require-hashes`` refuses it."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
#: what must never reach an image
TOOLS = {"pytest", "pytest-timeout", "playwright", "ruff", "import-linter", "wechatpy", "kubernetes-validate",
         "check-jsonschema", "websocket-client", "iniconfig", "grimp", "uv"}
#: lock -> (Python it is resolved for, the locks installed before it, the locks it is resolved against)
LOCKS: Dict[str, Tuple[str, Tuple[str, ...], Tuple[str, ...]]] = {
    "app": ("3.11", (), ()),
    "dev": ("3.11", ("app",), ("app",)),
    "kb-english": ("3.11", ("app",), ("app", "dev")),
    "rasa": ("3.10", (), ()),
    "rasa-dev": ("3.10", ("rasa",), ("rasa",)),
}
DIGEST = "# sha256 of the pins below: "


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(text: str, where: str = "lock") -> Dict[str, Tuple[str, List[str]]]:
    """name -> (version, sha256 hashes) of a lock in pip's hash format: a `name==version \\` line, its
    `--hash=sha256:...` continuation lines, and comments."""
    out: Dict[str, Tuple[str, List[str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip().rstrip("\\").strip()
        if not line:
            continue
        if line.startswith("--hash="):
            assert current, f"{where}: a hash before any pin: {raw!r}"
            algorithm, _, value = line[len("--hash="):].partition(":")
            assert algorithm == "sha256" and re.fullmatch(r"[0-9a-f]{64}", value), f"{where}: {raw!r}"
            out[current][1].append(value)
            continue
        name, _, version = line.partition("==")
        assert version and " " not in version.strip(), f"{where}: {line!r} is not pinned with =="
        Version(version)  # a malformed version raises
        current = norm(name)
        assert current not in out, f"{where}: {name} pinned twice"
        out[current] = (version.strip(), [])
    return out


def pins(path: Path) -> Dict[str, str]:
    return {name: version for name, (version, _) in entries(path.read_text(encoding="utf-8"), path.name).items()}


def header_command(text: str) -> List[str]:
    commands = [line[1:].strip() for line in text.splitlines() if line.startswith("#    uv pip compile ")]
    assert len(commands) == 1, "the header holds one `uv pip compile` command"
    return shlex.split(commands[0])


def problems(name: str, text: str) -> List[str]:
    """What is wrong with lock NAME whose content is TEXT (empty: it is what `make lock` wrote)."""
    found: List[str] = []
    try:
        locked = entries(text, f"{name}.lock")
    except AssertionError as error:
        return [str(error)]
    found += [f"{pin}=={version} has no sha256 hash" for pin, (version, hashes) in locked.items() if not hashes]
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(DIGEST)]
    digests = [lines[i][len(DIGEST):].strip() for i in at]
    body = "".join(lines[at[0] + 1:]) if len(at) == 1 else ""
    if len(digests) != 1:
        found.append("no digest line in the header: not written by make lock")
    elif hashlib.sha256(body.encode("utf-8")).hexdigest() != digests[0]:
        found.append("the pins differ from what make lock wrote (edited by hand?): run make lock")
    return found


def closure(roots: Iterable[str]) -> Set[str]:
    """Every distribution the requirements pull in, following the installed packages' metadata (markers evaluated
    for this interpreter, extras followed where requested)."""
    seen: Set[tuple] = set()
    stack = [Requirement(r) for r in roots]
    while stack:
        req = stack.pop()
        key = (norm(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.distribution(req.name).requires or []:
            dep = Requirement(raw)
            if dep.marker is None or dep.marker.evaluate({"extra": ""}) or any(
                    dep.marker.evaluate({"extra": extra}) for extra in req.extras):
                stack.append(dep)
    return {name for name, _ in seen}


def test_the_runtime_locks_hold_no_test_tools() -> None:
    for lock in ("app.lock", "rasa.lock"):
        found = TOOLS & set(pins(REQ / lock))
        assert not found, f"{lock} (installed in the images) holds {sorted(found)}"
    assert {"pytest", "playwright", "ruff", "import-linter"} <= set(pins(REQ / "dev.lock"))
    assert {"pytest", "pytest-timeout"} <= set(pins(REQ / "rasa-dev.lock"))
    assert not set(pins(REQ / "app.lock")) & set(pins(REQ / "dev.lock")), "a package pinned twice"
    assert not set(pins(REQ / "rasa.lock")) & set(pins(REQ / "rasa-dev.lock")), "a package pinned twice"


def test_the_images_install_the_runtime_locks_only() -> None:
    for dockerfile in sorted((ROOT / "deploy/docker").glob("Dockerfile*")):
        text = dockerfile.read_text(encoding="utf-8")
        assert "dev.lock" not in text and "dev.in" not in text, dockerfile.name
        assert not re.search(r"pip install[^\n]*\b(pytest|playwright|ruff)\b", text), dockerfile.name


def test_the_app_lock_is_exactly_what_the_dependencies_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = closure(project["dependencies"])
    locked = set(pins(REQ / "app.lock"))
    assert needed - locked == set(), f"needed at run time but not in app.lock: {sorted(needed - locked)}"
    assert locked - needed == set(), f"in app.lock but nothing at run time needs it: {sorted(locked - needed)}"
    tools = closure(project["optional-dependencies"]["test"]) - needed
    dev = set(pins(REQ / "dev.lock"))
    assert tools - dev == set(), f"test tools missing from dev.lock: {sorted(tools - dev)}"
    assert dev - tools == set(), f"in dev.lock but no test tool needs it: {sorted(dev - tools)}"


def test_the_venv_runs_what_the_locks_pin() -> None:
    """``make setup`` installed these locks into this interpreter's environment (skipped outside .venv)."""
    if Path(sys.prefix).name != ".venv" and not (Path(sys.prefix) / ".kefu-ready").exists():
        import pytest

        pytest.skip(f"not the project's .venv ({sys.prefix})")
    for lock in ("app.lock", "dev.lock"):
        for name, version in pins(REQ / lock).items():
            assert metadata.version(name) == version, f"{lock}: {name} {version} pinned, {metadata.version(name)} installed"


# -- the lock files as `make lock` writes them --------------------------------------------------------------------


def lock_text(name: str) -> str:
    return (REQ / f"{name}.lock").read_text(encoding="utf-8")


def test_every_lock_is_what_make_lock_wrote_with_a_hash_for_every_pin() -> None:
    for name in LOCKS:
        assert problems(name, lock_text(name)) == [], f"{name}.lock"
        assert pins(REQ / f"{name}.lock"), f"{name}.lock pins nothing"


def test_a_lock_edited_by_hand_fails() -> None:
    text = lock_text("app")
    assert "\nsanic==" in text
    # a version changed and its hashes dropped, as one would by hand
    edited = re.sub(r"\nsanic==[^ ]+ \\\n(    --hash=sha256:[0-9a-f]+ ?\\?\n)+", "\nsanic==24.6.0\n", text)
    assert edited != text
    found = problems("app", edited)
    assert "sanic==24.6.0 has no sha256 hash" in found
    assert any("edited by hand" in problem for problem in found)
    # a version changed, its (old) hashes kept: pip would refuse the file, the digest already does
    kept = re.sub(r"\nsanic==([0-9.]+)", "\nsanic==24.6.0", text)
    assert kept != text and any("edited by hand" in problem for problem in problems("app", kept))
    # a pin added by hand without a hash, a hash that is not sha256, a pin without a version, no header
    assert "left-pad==1.0 has no sha256 hash" in problems("app", text + "left-pad==1.0\n")
    assert problems("app", text.replace("--hash=sha256:", "--hash=md5:", 1))
    assert problems("app", text + "left-pad\n")
    body = "".join(text.splitlines(keepends=True)[6:])
    assert "no digest line in the header: not written by make lock" in problems("app", body)


def test_the_headers_record_the_command_of_scripts_lock() -> None:
    printed = subprocess.run([str(ROOT / "scripts" / "lock"), "--print"], capture_output=True, text=True,
                             check=True, timeout=60).stdout.splitlines()
    commands = dict(line.split(" ", 1) for line in printed)
    assert set(commands) == {f"requirements/{name}.lock" for name in LOCKS}
    uv = pins(REQ / "dev.lock")["uv"]
    for name, (python, base, against) in LOCKS.items():
        text = lock_text(name)
        assert f"scripts/lock) with uv {uv}:" in text, f"{name}.lock: written by another uv than dev.lock's"
        cmd = header_command(text)
        fixed = shlex.split(commands[f"requirements/{name}.lock"])
        assert cmd[:len(fixed)] == fixed, f"{name}.lock: its header is not scripts/lock's command"
        assert fixed[fixed.index("--python-version") + 1].startswith(python + "."), name
        assert [fixed[i + 1] for i, arg in enumerate(fixed) if arg == "--constraint"] == [
            f"requirements/{other}.lock" for other in against], name
        rest = cmd[len(fixed):]
        assert rest[0::2] == ["--no-emit-package"] * len(rest[1::2]), f"{name}.lock: {rest}"
        left_out = set(rest[1::2])
        based = {pin for other in base for pin in pins(REQ / f"{other}.lock")}
        assert left_out <= based, f"{name}.lock leaves out what no base lock pins: {sorted(left_out - based)}"
        assert not set(pins(REQ / f"{name}.lock")) & based, f"{name}.lock pins again what its base pins"
        assert bool(left_out) == bool(base), name


def test_the_locks_agree_with_their_in_files_and_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    sources = {name: [] for name in LOCKS}
    for name in LOCKS:
        for line in (REQ / f"{name}.in").read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                sources[name].append(line)
    extras = project["optional-dependencies"]
    sources["app"] += project["dependencies"]
    sources["dev"] += extras["test"]
    sources["kb-english"] += extras["kb-english"]
    sources["rasa"] += extras["rasa"]
    sources["rasa-dev"] += extras["rasa-test"]
    for name, (_, _, against) in LOCKS.items():
        available = dict(pins(REQ / f"{name}.lock"))
        for other in against:
            for pin, version in pins(REQ / f"{other}.lock").items():
                assert available.setdefault(pin, version) == version, f"{name}.lock and {other}.lock: {pin}"
        for raw in sources[name]:
            req = Requirement(raw)
            assert norm(req.name) in available, f"{name}.lock lacks {raw}"
            version = available[norm(req.name)]
            assert req.specifier.contains(version, prereleases=True), f"{name}.lock: {req.name}=={version}, not {raw}"


def test_the_english_stack_takes_the_cpu_torch() -> None:
    locked = pins(REQ / "kb-english.lock")
    assert locked["torch"].endswith("+cpu"), "a CUDA torch of several GB"
    assert not [pin for pin in locked if pin.startswith(("nvidia-", "triton", "cuda-"))]
    assert "torch==2.13.0" in (ROOT / "Makefile").read_text(encoding="utf-8"), "installed first, from the local build"


def test_the_venvs_install_every_lock_in_hash_mode() -> None:
    script = (ROOT / "scripts" / "ensure-venv").read_text(encoding="utf-8")
    installs = [line for line in script.splitlines() if "pip install" in line and "-r " in line]
    assert installs and all("--require-hashes" in line and "--no-deps" in line for line in installs), installs
    assert "pip check" in script


def test_scripts_lock_refuses_another_uv_and_writes_nothing(tmp_path: Path) -> None:
    before = {name: lock_text(name) for name in LOCKS}
    fake = tmp_path / "uv"
    fake.write_text("#!/bin/sh\necho 'uv 0.0.1 (fake)'\n", encoding="utf-8")
    fake.chmod(0o755)
    done = subprocess.run([str(ROOT / "scripts" / "lock")], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "KEFU_UV": str(fake)})
    assert done.returncode != 0
    assert f"uv 0.0.1, requirements/dev.lock pins {pins(REQ / 'dev.lock')['uv']}" in done.stderr
    missing = subprocess.run([str(ROOT / "scripts" / "lock")], capture_output=True, text=True, timeout=60,
                             env={"PATH": "/usr/bin:/bin", "KEFU_UV": str(tmp_path / "nope")})
    assert missing.returncode != 0 and "uv" in missing.stderr
    assert {name: lock_text(name) for name in LOCKS} == before
