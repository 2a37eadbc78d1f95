"""deploy/docker/Dockerfile.rasa and Dockerfile.app, read without a container engine: multi-stage,
unprivileged, installed from the lock files, and every COPY source reaches the build context
(exists and is not left out by .dockerignore)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Dict, List, Set

import pytest

from tests.deploy import assets, dockerfiles

IGNORE = dockerfiles.IgnoreRules(assets.DOCKERIGNORE.read_text(encoding="utf-8"))
#: Produced by a make target before `docker build`, never committed.
BUILT_BEFORE = {"models/kefu.tar.gz": "make model"}


def _stages(name: str) -> List[dockerfiles.Stage]:
    return dockerfiles.stages(assets.DOCKERFILES[name].read_text(encoding="utf-8"))[1]


def _context_files(source: str) -> List[str]:
    path = assets.ROOT / source
    if path.is_dir():
        files = [str(p.relative_to(assets.ROOT)) for p in path.rglob("*") if p.is_file()]
        return [f for f in files if not IGNORE.ignored(f)]
    return [source] if not IGNORE.ignored(source) else []


@pytest.mark.parametrize("name", sorted(assets.DOCKERFILES))
def test_multi_stage_and_unprivileged(name: str) -> None:
    stages = _stages(name)
    assert len(stages) >= 2, "build tools stay in a build stage"
    user = dockerfiles.final_user(stages[-1])
    assert user is not None, "the runtime stage must switch to an unprivileged user"
    assert user.split(":")[0] not in {"root", "0"}


@pytest.mark.parametrize("name", sorted(assets.DOCKERFILES))
def test_copy_sources_reach_the_build_context(name: str) -> None:
    text = assets.DOCKERFILES[name].read_text(encoding="utf-8")
    stages = _stages(name)
    for index, stage in enumerate(stages):
        earlier = {s.name for s in stages[:index] if s.name}
        for instruction in stage.instructions:
            if instruction.keyword not in {"COPY", "ADD"}:
                continue
            sources, _, from_stage = dockerfiles.copy_sources(instruction)
            if from_stage is not None:
                assert from_stage in earlier, f"line {instruction.line}: no earlier stage {from_stage}"
                continue
            for source in sources:
                source = source.rstrip("/")
                if source in BUILT_BEFORE:
                    assert BUILT_BEFORE[source] in text, f"{source}: say that `{BUILT_BEFORE[source]}` builds it"
                    assert not IGNORE.ignored(source), f"{source} is left out by .dockerignore"
                    continue
                assert (assets.ROOT / source).exists(), f"line {instruction.line}: {source} does not exist"
                assert _context_files(source), f"line {instruction.line}: .dockerignore leaves out {source}"


def test_images_install_exactly_the_lock_files() -> None:
    rasa = assets.DOCKERFILES["rasa"].read_text(encoding="utf-8")
    assert "COPY requirements/rasa.lock" in rasa and "-r /tmp/rasa.lock" in rasa and "pip check" in rasa
    app = assets.DOCKERFILES["app"].read_text(encoding="utf-8")
    assert "COPY requirements/app.lock" in app and "-r /tmp/app.lock" in app and "pip check" in app
    # as scripts/ensure-venv: the CPU torch first, then the lock
    assert app.index("torch==2.13.0") < app.index("-r /tmp/app.lock")


def test_app_image_bakes_the_knowledge_base_and_the_widget() -> None:
    runtime = _stages("app")[-1]
    runs = " ".join(i.arguments for i in runtime.instructions if i.keyword == "RUN")
    assert "python -m knowledge_base build" in runs
    copies = [dockerfiles.copy_sources(i) for i in runtime.instructions if i.keyword == "COPY"]
    assert (["/src/webchat/dist/kefu-widget.js"], "webchat/dist/kefu-widget.js", "widget") in copies


def test_app_image_default_command_is_the_action_server() -> None:
    runtime = _stages("app")[-1]
    cmd = [i.arguments for i in runtime.instructions if i.keyword == "CMD"][-1]
    assert cmd == '["python", "-m", "actions.server", "--actions", "actions", "--port", "5055"]'


# -- what each image copies covers what its code imports ---------------------------------------

PROJECT_PACKAGES = {p.name for p in assets.ROOT.iterdir() if (p / "__init__.py").exists()}


def _project_imports(package: str) -> Set[str]:
    found: Set[str] = set()
    for path in (assets.ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found & PROJECT_PACKAGES


def _copied_top_level(name: str) -> Set[str]:
    out: Set[str] = set()
    for instruction in _stages(name)[-1].instructions:
        if instruction.keyword == "COPY":
            sources, _, from_stage = dockerfiles.copy_sources(instruction)
            if from_stage is None:
                out |= {Path(s).parts[0] for s in sources}
    return out


@pytest.mark.parametrize(
    ("image", "entry_packages"), [("rasa", ["bot"]), ("app", ["actions", "console", "knowledge_base"])]
)
def test_images_copy_every_package_their_code_imports(image: str, entry_packages: List[str]) -> None:
    needed: Set[str] = set(entry_packages)
    frontier = list(entry_packages)
    while frontier:
        for imported in _project_imports(frontier.pop()):
            if imported not in needed:
                needed.add(imported)
                frontier.append(imported)
    needed.discard("tests")
    assert sorted(needed - _copied_top_level(image)) == []


# -- .dockerignore --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "var/rasa_token",
        "var/kb/current",
        ".venv/bin/python",
        ".git/config",
        "tests/conftest.py",
        "bot/data/nlu/faq.yml",
        "actions/__pycache__/faq.cpython-311.pyc",
        "webchat/node_modules/esbuild/package.json",
        "webchat/dist/kefu-widget.js",
    ],
)
def test_context_leaves_out(path: str) -> None:
    assert IGNORE.ignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "actions/faq.py",
        "bot/channels/socketio.py",
        "bot/responses/core.yml",
        "models/kefu.tar.gz",
        "requirements/app.lock",
        "endpoints.prod.yml",
        "webchat/src/index.js",
        "deploy/docker/healthcheck.py",
    ],
)
def test_context_keeps(path: str) -> None:
    assert not IGNORE.ignored(path)


@pytest.mark.parametrize(
    ("rules", "path", "ignored"),
    [
        ("*\n!keep/", "keep/a/b.py", False),
        ("*\n!keep/", "other/a.py", True),
        ("*\n!keep/\nkeep/secret", "keep/secret/x", True),
        ("**/__pycache__", "a/b/__pycache__/c.pyc", True),
        ("**/*.pyc", "x.pyc", True),
        ("docs", "docs.md", False),
        ("*.md\n!README.md", "README.md", False),
        ("", "anything", False),
    ],
)
def test_ignore_rules_follow_docker(rules: str, path: str, ignored: bool) -> None:
    assert dockerfiles.IgnoreRules(rules).ignored(path) is ignored


def test_instruction_parser_joins_continuations_and_rejects_dangling_ones() -> None:
    parsed = dockerfiles.instructions("FROM a:1\n# c\nRUN one \\\n  # inner comment\n  two\nUSER 1\n")
    assert [(i.keyword, i.arguments) for i in parsed] == [("FROM", "a:1"), ("RUN", "one two"), ("USER", "1")]
    with pytest.raises(ValueError):
        dockerfiles.instructions("FROM a:1\nRUN x \\\n")


def test_stage_reading_notices_a_root_runtime() -> None:
    _, stages = dockerfiles.stages("FROM a:1 AS build\nRUN x\nFROM b:2\nUSER root\n")
    assert dockerfiles.final_user(stages[-1]) == "root"
    _, stages = dockerfiles.stages("FROM b:2\nRUN x\n")
    assert dockerfiles.final_user(stages[-1]) is None


def test_base_images_resolve_from_global_args() -> None:
    global_args, stages = dockerfiles.stages("ARG PY=python:3.11-slim-bookworm\nFROM ${PY} AS build\nFROM $PY\n")
    assert [dockerfiles.resolve_base(s.base, global_args) for s in stages] == ["python:3.11-slim-bookworm"] * 2


def _variables(text: str) -> Dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", text, flags=re.MULTILINE))


def test_python_versions_match_the_environments() -> None:
    assert _variables(assets.DOCKERFILES["rasa"].read_text(encoding="utf-8"))["PYTHON_IMAGE"].startswith("python:3.10-")
    assert _variables(assets.DOCKERFILES["app"].read_text(encoding="utf-8"))["PYTHON_IMAGE"].startswith("python:3.11-")
