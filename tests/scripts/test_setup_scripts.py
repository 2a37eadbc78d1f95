"""Interpreter discovery and model fingerprinting used by `make setup` / `make model`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from kernel.settings import ROOT

FIND = str(ROOT / "scripts" / "find-python")


def run(args, env):
    return subprocess.run([FIND, *args], capture_output=True, text=True, env=env)


def test_finds_the_interpreter_named_by_the_variable():
    version = "%d.%d" % sys.version_info[:2]
    result = run([version, "APP_PYTHON"], {**os.environ, "APP_PYTHON": sys.executable})
    assert result.returncode == 0, result.stderr
    found = Path(result.stdout.strip())
    assert subprocess.run([str(found), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                          text=True).stdout.strip() == str(tuple(sys.version_info[:2]))


def test_a_wrong_interpreter_in_the_variable_is_a_clear_error():
    result = run(["3.10", "RASA_PYTHON"], {**os.environ, "RASA_PYTHON": sys.executable + "-nope"})
    assert result.returncode == 1
    assert "RASA_PYTHON" in result.stderr and "not a working Python 3.10" in result.stderr


def test_a_missing_version_stops_with_instructions(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run(["3.4", "OLD_PYTHON"], env)
    assert result.returncode == 1
    assert "no Python 3.4 found" in result.stderr
    assert "OLD_PYTHON" in result.stderr and "pyenv install" in result.stderr


def test_pyenv_versions_are_found_without_path(tmp_path):
    version = "%d.%d" % sys.version_info[:2]
    fake = tmp_path / "pyenv" / "versions" / f"{version}.99" / "bin"
    fake.mkdir(parents=True)
    (fake / f"python{version}").symlink_to(sys.executable)
    tools = tmp_path / "bin"  # a PATH with the shell tools but no Python at all
    tools.mkdir()
    for tool in ("bash", "ls", "sort", "head", "cat"):
        (tools / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip())
    env = {"PATH": str(tools), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    result = run([version, "NOPE_PYTHON"], env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(fake / f"python{version}")


# -- scripts/train-model's fingerprint ----------------------------------------------------------------------------


def fingerprint(tree: Path) -> str:
    done = subprocess.run([str(tree / "scripts" / "train-model"), "--fingerprint"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"[0-9a-f]{20}", done.stdout.strip()), done.stdout
    return done.stdout.strip()


def model_inputs(tmp_path: Path) -> Path:
    """A tree with what the model is built from (small stand-ins, the real Rasa lock) and the real script."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "train-model", tree / "scripts" / "train-model")
    for folder in ("bot/domain", "bot/data", "bot/nlu", "requirements"):
        (tree / folder).mkdir(parents=True)
    (tree / "config.yml").write_text("language: zh\npipeline: []\n", encoding="utf-8")
    (tree / "bot/domain/intents.yml").write_text("intents: [greet]\n", encoding="utf-8")
    (tree / "bot/data/nlu.yml").write_text("nlu: []\n", encoding="utf-8")
    (tree / "bot/nlu/component.py").write_text("X = 1\n", encoding="utf-8")
    shutil.copy2(ROOT / "requirements" / "rasa.lock", tree / "requirements" / "rasa.lock")
    return tree


def test_the_fingerprint_reads_the_rasa_lock_pins_only(tmp_path):
    tree = model_inputs(tmp_path)
    lock = tree / "requirements" / "rasa.lock"
    text = lock.read_text(encoding="utf-8")
    assert "--hash=sha256:" in text and "\nrasa==3.6.21 " in text
    before = fingerprint(tree)
    assert fingerprint(tree) == before  # stable
    # the same pins without hashes and comments, in another order, names spelled the old way: the same model
    bare = [line.split(" ", 1)[0] for line in text.splitlines() if "==" in line and not line.startswith(("#", " "))]
    assert len(bare) > 100
    lock.write_text("# written by hand\n" + "\n".join(reversed(bare)).replace("apscheduler==", "APScheduler==")
                    + "\n", encoding="utf-8")
    assert fingerprint(tree) == before
    # other hashes (a new wheel published for a pinned version) change nothing either
    lock.write_text(re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, text), encoding="utf-8")
    assert fingerprint(tree) == before
    # a version changed is another model
    lock.write_text(text.replace("\nrasa==3.6.21 ", "\nrasa==3.6.20 "), encoding="utf-8")
    assert fingerprint(tree) != before
    # a package added is another model
    lock.write_text(text + "left-pad==1.0 \\\n    --hash=sha256:" + "1" * 64 + "\n", encoding="utf-8")
    assert fingerprint(tree) != before
    # and so is a change of the training data
    lock.write_text(text, encoding="utf-8")
    assert fingerprint(tree) == before
    (tree / "bot/data/nlu.yml").write_text("nlu: [{intent: greet, examples: '- hi'}]\n", encoding="utf-8")
    assert fingerprint(tree) != before
