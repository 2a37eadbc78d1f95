"""scripts/ensure-venv installs layered locks in pip's hash mode (``--require-hashes --no-deps`` per layer, then
``pip check``), on small wheels made here and served from a folder: no network, no index."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, Sequence

import pytest

from kernel.settings import ROOT

ENSURE = str(ROOT / "scripts" / "ensure-venv")


def wheel(folder: Path, name: str, version: str, requires: Sequence[str] = ()) -> str:
    """Writes a pure-Python wheel of NAME VERSION into FOLDER; returns its sha256."""
    module = name.replace("-", "_")
    dist = f"{module}-{version}"
    files: Dict[str, str] = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {req}\n" for req in requires),
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: kefu-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        data = text.encode("utf-8")
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    out = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def pin(name: str, version: str, *hashes: str) -> str:
    return f"{name}=={version}" + "".join(f" \\\n    --hash=sha256:{value}" for value in hashes) + "\n"


@pytest.fixture()
def shop(tmp_path: Path):
    """Wheels in a folder, and an environment in which pip sees only that folder."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    digests = {
        "kefu-base": wheel(wheels, "kefu-base", "1.0"),
        "kefu-extra": wheel(wheels, "kefu-extra", "1.0", ["kefu-base==1.0"]),
        "kefu-needy": wheel(wheels, "kefu-needy", "1.0", ["kefu-absent"]),
        "kefu-first": wheel(wheels, "kefu-first", "1.0", ["kefu-base"]),
    }
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "KEFU_CACHE": str(tmp_path / "cache"),
           "TEST_PYTHON": sys.executable}
    env.pop("KEFU_VENV_EXTRA_LOCKS", None)
    return tmp_path, digests, env


def ensure(tmp_path: Path, env: Dict[str, str], lock: Path, *first: str, extras: Sequence[Path] = ()):
    version = "%d.%d" % sys.version_info[:2]
    env = {**env, "KEFU_VENV_EXTRA_LOCKS": " ".join(map(str, extras))}
    return subprocess.run([ENSURE, str(tmp_path / "venv"), version, "TEST_PYTHON", str(lock), *first],
                          capture_output=True, text=True, env=env, timeout=600)


def installed(tmp_path: Path) -> str:
    return subprocess.run([str(tmp_path / "venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                          capture_output=True, text=True, check=True).stdout


def test_a_layer_on_a_runtime_lock_installs_with_hashes(shop) -> None:
    tmp_path, digests, env = shop
    base = tmp_path / "base.lock"
    base.write_text("# runtime\n" + pin("kefu-base", "1.0", digests["kefu-base"]), encoding="utf-8")
    extra = tmp_path / "extra.lock"  # needs kefu-base, which it leaves to base.lock, as scripts/lock writes it
    extra.write_text(pin("kefu-extra", "1.0", "0" * 64, digests["kefu-extra"]), encoding="utf-8")
    done = ensure(tmp_path, env, base, extras=[extra])
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "venv").is_symlink()
    assert {"kefu-base==1.0", "kefu-extra==1.0"} <= set(installed(tmp_path).split())
    # built once: the same locks reuse the environment
    again = ensure(tmp_path, env, base, extras=[extra])
    assert again.returncode == 0 and "Building" not in again.stdout


def test_a_file_that_does_not_match_its_hash_is_refused(shop) -> None:
    tmp_path, digests, env = shop
    lock = tmp_path / "app.lock"
    lock.write_text(pin("kefu-base", "1.0", hashlib.sha256(b"another file").hexdigest()), encoding="utf-8")
    done = ensure(tmp_path, env, lock)
    assert done.returncode != 0
    assert "DO NOT MATCH THE HASHES" in done.stderr
    assert not (tmp_path / "venv").exists(), "a half-built environment was linked"


def test_a_pin_without_a_hash_is_refused(shop) -> None:
    """A lock edited by hand: pip's hash mode refuses it, even where no line has a hash."""
    tmp_path, digests, env = shop
    lock = tmp_path / "app.lock"
    lock.write_text(pin("kefu-base", "1.0"), encoding="utf-8")
    done = ensure(tmp_path, env, lock)
    assert done.returncode != 0
    assert "Hashes are required in --require-hashes mode" in done.stderr
    extra = tmp_path / "extra.lock"  # a hashed runtime lock, a layer on it without hashes
    lock.write_text(pin("kefu-base", "1.0", digests["kefu-base"]), encoding="utf-8")
    extra.write_text(pin("kefu-extra", "1.0"), encoding="utf-8")
    done = ensure(tmp_path, env, lock, extras=[extra])
    assert done.returncode != 0 and "Hashes are required" in done.stderr
    assert not (tmp_path / "venv").exists()


def test_a_dependency_missing_from_every_layer_stops_the_build(shop) -> None:
    """--no-deps: nothing arrives that no lock names; pip check names what is missing."""
    tmp_path, digests, env = shop
    lock = tmp_path / "app.lock"
    lock.write_text(pin("kefu-needy", "1.0", digests["kefu-needy"]), encoding="utf-8")
    done = ensure(tmp_path, env, lock)
    assert done.returncode != 0
    assert "kefu-absent" in done.stdout + done.stderr
    assert not (tmp_path / "venv").exists()


def test_the_first_requirement_goes_in_alone_its_dependencies_from_the_locks(shop) -> None:
    """torch==2.13.0 comes first from the local build, outside hash mode; what it needs comes, hashed, from the
    locks (kefu-first stands for torch, kefu-base for what torch needs)."""
    tmp_path, digests, env = shop
    lock = tmp_path / "app.lock"
    lock.write_text(pin("kefu-base", "1.0", digests["kefu-base"]), encoding="utf-8")
    done = ensure(tmp_path, env, lock, "kefu-first==1.0")
    assert done.returncode == 0, done.stderr
    assert {"kefu-first==1.0", "kefu-base==1.0"} <= set(installed(tmp_path).split())
    # and without a lock that holds its dependency, the build stops rather than fetching it unhashed
    empty = tmp_path / "empty.lock"
    empty.write_text("# nothing\n", encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    done = ensure(other, env, empty, "kefu-first==1.0")
    assert done.returncode != 0 and "kefu-base" in done.stdout + done.stderr
