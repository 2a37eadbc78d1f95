"""deploy/docker/Dockerfile.rasa and Dockerfile.app, read without a container engine: multi-stage,
unprivileged, installed from the lock files with their hashes, and every COPY source reaches the build
context (exists and is not left out by .dockerignore). The Rasa image trains its model in a build
stage with scripts/train-model (issue 26: one step from a fresh clone); the shell of that stage is run
here on a copy of what the stage copies, with the real script. No image is built by these tests."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Dict, List, Optional, Set

import pytest

from tests.deploy import assets, dockerfiles

IGNORE = dockerfiles.IgnoreRules(assets.DOCKERIGNORE.read_text(encoding="utf-8"))
#: Produced by a make target before `docker build`, never committed; optional in the context.
BUILT_BEFORE = {"models/kefu.tar.gz": "make model", "models/.fingerprint": "make model"}
WILDCARD = re.compile(r"[*?\[]")


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
            if any(WILDCARD.search(source) for source in sources):
                # optional files: the instruction needs one source that is always there
                assert [s for s in sources if not WILDCARD.search(s) and (assets.ROOT / s).exists()], (
                    f"line {instruction.line}: only optional sources: the build stops when none matches"
                )
            for source in sources:
                source = source.rstrip("/")
                if WILDCARD.search(source):
                    # the name the pattern is meant for: `models/kefu.tar.g[z]` is models/kefu.tar.gz
                    source = re.sub(r"\[(.)\]", r"\1", source)
                    assert source in BUILT_BEFORE, f"line {instruction.line}: an unexplained wildcard {source}"
                if source in BUILT_BEFORE:
                    assert BUILT_BEFORE[source] in text, f"{source}: say that `{BUILT_BEFORE[source]}` builds it"
                    assert not IGNORE.ignored(source), f"{source} is left out by .dockerignore"
                    continue
                assert (assets.ROOT / source).exists(), f"line {instruction.line}: {source} does not exist"
                assert _context_files(source), f"line {instruction.line}: .dockerignore leaves out {source}"


def _pip_installs(name: str) -> List[str]:
    runs = [i.arguments for stage in _stages(name) for i in stage.instructions if i.keyword == "RUN"]
    return [part.strip() for run in runs for part in run.split("&&") if "pip install" in part]


def test_images_install_exactly_the_lock_files() -> None:
    rasa = assets.DOCKERFILES["rasa"].read_text(encoding="utf-8")
    assert "COPY requirements/rasa.lock" in rasa and "-r /tmp/rasa.lock" in rasa and "pip check" in rasa
    app = assets.DOCKERFILES["app"].read_text(encoding="utf-8")
    assert "COPY requirements/app.lock" in app and "-r /tmp/app.lock" in app and "pip check" in app
    # as scripts/ensure-venv: the CPU torch first, then the lock
    assert app.index("torch==2.13.0") < app.index("-r /tmp/app.lock")


@pytest.mark.parametrize("name", sorted(assets.DOCKERFILES))
def test_every_lock_is_installed_with_its_hashes(name: str) -> None:
    """Each ``-r`` lock with --require-hashes --no-deps (nothing unhashed, nothing beyond the lock);
    only the first requirement (torch from its CPU index) stays outside hash mode, alone."""
    installs = _pip_installs(name)
    locks = [i for i in installs if " -r " in i]
    assert locks, name
    for line in locks:
        assert "--require-hashes" in line and "--no-deps" in line, line
        lock = assets.ROOT / "requirements" / Path(line.split(" -r ", 1)[1].split()[0].rstrip(";")).name
        assert lock.exists(), line
        _assert_every_pin_hashed(lock)
    others = [i for i in installs if " -r " not in i and "--upgrade pip" not in i]
    assert all("torch==" in i and "--no-deps" in i for i in others), others


def _assert_every_pin_hashed(lock: Path) -> None:
    """pip refuses the whole lock in hash mode when one pin has no hash: the build would stop."""
    entries = re.split(r"\n(?=\S)", lock.read_text(encoding="utf-8"))
    pins = [e for e in entries if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^]]*\])?==", e)]
    assert pins, lock.name
    unhashed = [e.split()[0] for e in pins if "--hash=sha256:" not in e]
    assert unhashed == [], f"{lock.name}: pins without a hash: {unhashed[:5]}"


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
    """Top-level directories the runtime stage gets: from the context, or from an earlier stage."""
    stage_names = {s.name for s in _stages(name) if s.name}
    out: Set[str] = set()
    for instruction in _stages(name)[-1].instructions:
        if instruction.keyword == "COPY":
            sources, destination, from_stage = dockerfiles.copy_sources(instruction)
            if from_stage is None:
                out |= {Path(s).parts[0] for s in sources}
            elif from_stage in stage_names and not destination.startswith("/"):
                out.add(Path(destination).parts[0])
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
        "bot/tests/test_stories.yml",
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
        "models/.fingerprint",
        "config.yml",
        "scripts/train-model",
        "bot/data/nlu/faq.yml",
        "bot/domain/core.yml",
        "bot/nlu/tokenizer.py",
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


# -- the Rasa image trains its own model (issue 26) -------------------------------------------------

TRAIN_SCRIPT = assets.ROOT / "scripts" / "train-model"


def _stage(name: str, stage_name: str) -> dockerfiles.Stage:
    [stage] = [s for s in _stages(name) if s.name == stage_name]
    return stage


def _fingerprint_inputs() -> List[str]:
    """What scripts/train-model fingerprints (and trains from): the paths of its `find`."""
    match = re.search(r"find ((?:[\w./-]+ )+)-type f", TRAIN_SCRIPT.read_text(encoding="utf-8"))
    assert match, "scripts/train-model no longer lists its inputs with `find ... -type f`"
    return match.group(1).split()


def _context_copies(stage: dockerfiles.Stage) -> List[tuple]:
    return [
        dockerfiles.copy_sources(i)
        for i in stage.instructions
        if i.keyword == "COPY" and dockerfiles.copy_sources(i)[2] is None
    ]


def test_the_model_stage_trains_with_the_make_model_script_from_every_input() -> None:
    model = _stage("rasa", "model")
    assert model.base == "build", "the Rasa environment installed from the lock trains the model"
    copied = {source.rstrip("/") for sources, _, _ in _context_copies(model) for source in sources}
    inputs = _fingerprint_inputs()
    assert {"config.yml", "bot/domain", "bot/data", "bot/nlu", "requirements/rasa.lock"} <= set(inputs)
    assert sorted(set(inputs) - copied) == [], "the stage trains without some of the model's inputs"
    runs = " ".join(i.arguments for i in model.instructions if i.keyword == "RUN")
    assert "scripts/train-model" in runs and "ln -s /opt/venv .venv-rasa" in runs
    # the script trains with .venv-rasa's rasa: the link makes it the image's own environment
    assert ".venv-rasa/bin/rasa train --config config.yml --domain bot/domain --data bot/data" in (
        TRAIN_SCRIPT.read_text(encoding="utf-8").replace("\\\n    ", "")
    )
    assert re.search(r"^ARG KEFU_MODEL_SOURCE=auto$", assets.DOCKERFILES["rasa"].read_text(encoding="utf-8"), re.M)


def test_the_runtime_takes_only_the_model_from_the_training_stage() -> None:
    runtime = _stages("rasa")[-1]
    copies = [dockerfiles.copy_sources(i) for i in runtime.instructions if i.keyword == "COPY"]
    assert [c for c in copies if c[2] == "model"] == [(["/src/models/kefu.tar.gz"], "models/kefu.tar.gz", "model")]
    assert [c for c in copies if c[2] == "build"] == [(["/opt/venv"], "/opt/venv", "build")]
    # nothing is installed in the runtime stage: no compiler, no pip, no test tool
    runs = " ".join(i.arguments for i in runtime.instructions if i.keyword == "RUN")
    assert "apt-get" not in runs and "pip" not in runs
    # bot/ without the training data and the test stories
    assert not [c for c in copies if c[2] is None and any(s.startswith(("bot", "config.yml")) for s in c[0])]
    assert (["/src/bot/"], "bot/", "source") in copies
    source_runs = " ".join(i.arguments for i in _stage("rasa", "source").instructions if i.keyword == "RUN")
    assert "rm -rf bot/data bot/tests bot/tests-backend-down" in source_runs
    cmd = [i.arguments for i in runtime.instructions if i.keyword == "CMD"][-1]
    assert "--model models/kefu.tar.gz" in cmd


@pytest.mark.parametrize("name", sorted(assets.DOCKERFILES))
def test_no_image_ships_the_training_data_or_the_test_stories(name: str) -> None:
    """bot/data reaches the build context (the Rasa image trains from it), never a runtime stage."""
    runtime = _stages(name)[-1]
    copies = [dockerfiles.copy_sources(i) for i in runtime.instructions if i.keyword == "COPY"]
    assert not [c for c in copies if c[2] is None and any(s.rstrip("/") in ("bot", "bot/data") for s in c[0])]
    assert (["/src/bot/"], "bot/", "source") in copies
    source_runs = " ".join(i.arguments for i in _stage(name, "source").instructions if i.keyword == "RUN")
    assert "rm -rf bot/data bot/tests bot/tests-backend-down" in source_runs


# The model stage's shell, run for real on a copy of what the stage copies, with the real
# scripts/train-model. Only Rasa's training is stood in for (it takes 25 minutes): a `rasa` that
# records its command line and writes a model archive where it is told to.
FAKE_RASA = """#!/bin/sh
printf '%s\\n' "$*" >> "$RASA_CALLS"
out=""; previous=""
for argument in "$@"; do [ "$previous" = --out ] && out="$argument"; previous="$argument"; done
mkdir -p "$out"
tar -czf "$out/kefu.tar.gz" -C "$(dirname "$0")" rasa
"""


def _model_stage_script(cache: Path) -> str:
    [run] = [
        i.arguments for i in _stage("rasa", "model").instructions if i.keyword == "RUN" and "train-model" in i.arguments
    ]
    while run.startswith("--"):
        run = run.split(" ", 1)[1]
    assert "/root/.cache/kefu" in run
    return run.replace("/root/.cache/kefu", str(cache))


def _model_stage_tree(root: Path, given: Dict[str, bytes]) -> Path:
    """/src of the stage: every context COPY of the model stage (the optional ones from ``given``)."""
    src = root / "src"
    for sources, destination, _ in _context_copies(_stage("rasa", "model")):
        if destination.startswith("/src/"):
            target = src / destination[len("/src/") :]
            target.mkdir(parents=True, exist_ok=True)
            for source in sources:
                if not WILDCARD.search(source):
                    shutil.copy2(assets.ROOT / source, target / Path(source).name)
            for name, content in given.items():
                (target / name).write_bytes(content)
            continue
        for source in sources:
            target = src / destination
            target.parent.mkdir(parents=True, exist_ok=True)
            if (assets.ROOT / source).is_dir():
                shutil.copytree(
                    assets.ROOT / source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(assets.ROOT / source, target)
    rasa = src / ".venv-rasa" / "bin" / "rasa"  # stands for `ln -s /opt/venv .venv-rasa`
    rasa.parent.mkdir(parents=True)
    rasa.write_text(FAKE_RASA, encoding="utf-8")
    rasa.chmod(0o755)
    return src


def _archive(tmp_path: Path, text: str) -> bytes:
    (tmp_path / "marker").write_text(text, encoding="utf-8")
    with tarfile.open(tmp_path / "given.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "marker", arcname="marker")
    return (tmp_path / "given.tar.gz").read_bytes()


def _run_stage(tmp_path: Path, source: str, given: Dict[str, bytes], cache: Optional[Path] = None):
    for tool in ("flock", "sha256sum", "tar", "awk"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here (the image's Debian has it)")
    work = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    src = _model_stage_tree(work, given)
    calls = work / "rasa-calls"
    cache = cache or work / "cache"
    result = subprocess.run(
        ["sh", "-c", _model_stage_script(cache)],
        cwd=src,
        env={
            **{k: v for k, v in os.environ.items() if k not in ("KEFU_CACHE",)},
            "KEFU_MODEL_SOURCE": source,
            "RASA_CALLS": str(calls),
            "HOME": str(work),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    trained = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result, src, trained


def _model_marker(src: Path) -> Optional[str]:
    with tarfile.open(src / "models" / "kefu.tar.gz") as archive:
        names = archive.getnames()
        if "marker" not in names:
            return None
        return archive.extractfile("marker").read().decode()


def test_a_fresh_clone_trains_in_the_image_with_the_scripts_command(tmp_path: Path) -> None:
    result, src, trained = _run_stage(tmp_path, "auto", {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(trained) == 1
    assert trained[0].startswith("train --config config.yml --domain bot/domain --data bot/data --out ")
    assert trained[0].endswith("--fixed-model-name kefu")
    assert (src / "models" / "kefu.tar.gz").exists() and (src / "models" / ".fingerprint").exists()
    assert not (src / "given").exists()


def test_a_matching_model_from_make_model_is_used_and_a_stale_one_retrained(tmp_path: Path) -> None:
    first, src, _ = _run_stage(tmp_path, "auto", {})
    assert first.returncode == 0, first.stderr
    fingerprint = (src / "models" / ".fingerprint").read_bytes()
    given = _archive(tmp_path, "from make model")
    result, src, trained = _run_stage(tmp_path, "auto", {"kefu.tar.gz": given, ".fingerprint": fingerprint})
    assert result.returncode == 0, result.stderr
    assert trained == [] and _model_marker(src) == "from make model"
    result, src, trained = _run_stage(
        tmp_path, "auto", {"kefu.tar.gz": given, ".fingerprint": b"0123456789abcdef0123\n"}
    )
    assert result.returncode == 0, result.stderr
    assert len(trained) == 1 and _model_marker(src) is None, "a stale model must not be baked in"


def test_the_build_argument_wins_over_the_context(tmp_path: Path) -> None:
    first, src, _ = _run_stage(tmp_path, "auto", {})
    fingerprint = (src / "models" / ".fingerprint").read_bytes()
    given = _archive(tmp_path, "from make model")
    result, src, trained = _run_stage(tmp_path, "train", {"kefu.tar.gz": given, ".fingerprint": fingerprint})
    assert result.returncode == 0, result.stderr
    assert len(trained) == 1 and _model_marker(src) is None
    result, src, trained = _run_stage(tmp_path, "given", {"kefu.tar.gz": given})
    assert result.returncode == 0, result.stderr
    assert trained == [] and _model_marker(src) == "from make model", "given: as it is, no fingerprint needed"


@pytest.mark.parametrize(
    ("source", "given", "message"),
    [
        ("given", {}, "no models/kefu.tar.gz in the build context"),
        ("latest", {}, "must be auto, train or given"),
        ("given", {"kefu.tar.gz": b"not an archive"}, ""),
    ],
)
def test_a_wrong_model_source_stops_the_build(
    tmp_path: Path, source: str, given: Dict[str, bytes], message: str
) -> None:
    result, _, trained = _run_stage(tmp_path, source, given)
    assert result.returncode != 0 and trained == []
    assert message in result.stderr
