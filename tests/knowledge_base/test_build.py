"""Build: manifest, no rebuild when nothing changed, atomic swap, a failed build leaves the old one serving,
and the served matcher follows a new build without a restart."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge_base.__main__ import main
from knowledge_base.building.builder import build, current_manifest
from knowledge_base.building.source import ValidationError, source_hash
from knowledge_base.config import IndexConfig
from knowledge_base.serving import index as index_files
from knowledge_base.serving.runtime import KnowledgeBase, KnowledgeBaseUnavailable, current_dir

from .conftest import ENCODER, make_config


def test_manifest_describes_the_build(built_kb) -> None:
    manifest = current_manifest(built_kb.output_dir)
    assert manifest is not None
    assert manifest.encoder_id == ENCODER and manifest.encoder_dim == 512
    assert manifest.entries == 8
    assert manifest.source_hash == source_hash(built_kb.sources)
    assert manifest.index_type == "IndexFlatIP"
    assert set(manifest.languages) == {"zh-Hans", "zh-Hant", "en"}
    assert 0.0 <= manifest.thresholds["refuse"] <= manifest.thresholds["answer"] <= 1.0
    assert manifest.built_at and manifest.build_seconds > 0
    on_disk = json.loads((current_dir(built_kb.output_dir) / "manifest.json").read_text())
    assert on_disk["fingerprint"] == manifest.fingerprint


def test_no_rebuild_when_nothing_changed(writable_kb) -> None:
    before = current_manifest(writable_kb.output_dir)
    outcome = build(writable_kb)
    assert outcome.built is False
    assert outcome.manifest.version == before.version


def test_source_edit_rebuilds_and_changes_the_live_answer(writable_kb) -> None:
    kb = KnowledgeBase(replace(writable_kb, reload_check_seconds=0.0))
    first = kb.matcher().match("退款多久到账")
    assert first.outcome == "answered" and "1到3个工作日" in first.answer
    old_version = kb.served_version

    path = writable_kb.sources / "shop.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("1到3个工作日", "5个工作日"), encoding="utf-8")
    outcome = build(writable_kb)
    assert outcome.built is True and outcome.manifest.version != old_version

    second = kb.matcher().match("退款多久到账")  # same object, no restart
    assert kb.served_version == outcome.manifest.version
    assert "5个工作日" in second.answer


def test_build_settings_change_rebuilds(writable_kb) -> None:
    changed = replace(writable_kb, index=replace(writable_kb.index, hnsw_m=writable_kb.index.hnsw_m + 8))
    assert build(changed).built is True


def test_failed_build_leaves_the_served_index(writable_kb) -> None:
    kb = KnowledgeBase(replace(writable_kb, reload_check_seconds=0.0))
    served = kb.matcher()
    before = current_dir(writable_kb.output_dir)
    (writable_kb.sources / "broken.yml").write_text("- id: Bad Id\n  questions: {}\n", encoding="utf-8")
    with pytest.raises(ValidationError):
        build(writable_kb)
    assert current_dir(writable_kb.output_dir) == before
    assert kb.matcher() is served
    assert kb.matcher().match("积分可以抵现吗").outcome == "answered"
    assert not list((writable_kb.output_dir / "builds").glob(".tmp-*"))


def test_failure_while_writing_cleans_up_and_keeps_serving(writable_kb, monkeypatch) -> None:
    before = current_dir(writable_kb.output_dir)
    (writable_kb.sources / "shop.yml").write_text(
        (writable_kb.sources / "shop.yml").read_text(encoding="utf-8") + "\n", encoding="utf-8"
    )

    def disk_full(index, directory: Path) -> None:
        directory.mkdir(parents=True)
        (directory / "dense.faiss").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index_files, "save", disk_full)
    with pytest.raises(OSError):
        build(writable_kb)
    assert current_dir(writable_kb.output_dir) == before
    assert [p for p in (writable_kb.output_dir / "builds").iterdir() if p.name.startswith(".tmp-")] == []


def test_half_written_build_is_never_loaded(writable_kb) -> None:
    """A build directory without a manifest (still being written) is not served."""
    kb = KnowledgeBase(replace(writable_kb, reload_check_seconds=0.0))
    served = kb.served_version or kb.matcher() and kb.served_version
    partial = writable_kb.output_dir / "builds" / "99999999T000000-partial"
    partial.mkdir()
    (partial / "dense.faiss").write_bytes(b"garbage")
    pointer = writable_kb.output_dir / "current"
    tmp = writable_kb.output_dir / ".current.test"
    os.symlink("builds/99999999T000000-partial", tmp)
    os.replace(tmp, pointer)
    assert kb.refresh(force=True) is False
    assert kb.served_version == served


def test_reload_checks_at_most_once_per_interval(writable_kb) -> None:
    now = [100.0]
    kb = KnowledgeBase(replace(writable_kb, reload_check_seconds=1.0), clock=lambda: now[0])
    kb.matcher()
    version = kb.served_version
    path = writable_kb.sources / "shop.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("10:00到22:00", "9:00到21:00"), encoding="utf-8")
    new = build(writable_kb).manifest.version
    now[0] += 0.5
    kb.matcher()
    assert kb.served_version == version  # checked less than a second ago
    now[0] += 0.6
    kb.matcher()
    assert kb.served_version == new


def test_missing_build_is_a_clear_error(tmp_path: Path) -> None:
    kb = KnowledgeBase(make_config(tmp_path / "faq", tmp_path / "out"))
    with pytest.raises(KnowledgeBaseUnavailable, match="python -m knowledge_base build"):
        kb.matcher()


def test_approximate_index_above_threshold(writable_kb) -> None:
    config = replace(writable_kb, index=IndexConfig(exact_max_vectors=10, approximate="hnsw"))
    outcome = build(config)
    assert outcome.manifest.index_type == "IndexHNSWFlat"
    kb = KnowledgeBase(config)
    assert kb.matcher().match("门店几点开门").candidates[0].id == "stores.hours"


def test_cli_build_reports_up_to_date(writable_kb, capsys) -> None:
    args = [
        "build",
        "--sources",
        str(writable_kb.sources),
        "--out-dir",
        str(writable_kb.output_dir),
        "--encoder",
        ENCODER,
    ]
    assert main(args) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_build_invalid_sources_exit_code(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.yml").write_text("- id: x\n", encoding="utf-8")
    assert main(["build", "--sources", str(tmp_path), "--out-dir", str(tmp_path / "out"), "--encoder", ENCODER]) == 2
    err = capsys.readouterr().err
    assert "a.yml [x]: questions must be a mapping" in err
