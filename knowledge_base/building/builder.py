"""``python -m knowledge_base build``: versioned builds and an atomic ``current`` pointer.

Layout under ``output_dir`` (default ``var/kb``)::

    builds/<version>/        dense.faiss, arrays.npz, meta.json, manifest.json   (never changed once published)
    current -> builds/<version>                                                  (symlink, replaced atomically)

A build writes into ``builds/.tmp-<version>``, renames it to ``builds/<version>`` when complete, then
points ``current`` at it with ``os.replace`` on a fresh symlink. Readers resolve ``current`` once and
read a directory that is complete and immutable, so they never see a half-written index. A build that
fails (invalid sources, encoder error, disk full) removes its temporary directory and leaves
``current`` untouched.

The build is skipped when the manifest of ``current`` has the same fingerprint: source hash, encoder id
and build settings.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

from knowledge_base.building.indexing import build_index, records_from_entries
from knowledge_base.building.source import Learned, load_entries, merge_learned, source_hash
from knowledge_base.config import KBConfig
from knowledge_base.serving import index as index_files
from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id
from knowledge_base.serving.runtime import POINTER, current_dir

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    version: str
    format: int
    encoder_id: str
    encoder_dim: int
    source_hash: str
    config_fingerprint: str
    fingerprint: str
    entries: int
    questions: int
    languages: Dict[str, int]
    index_type: str
    built_at: str
    build_seconds: float
    encode_seconds: float
    calibration: Optional[Dict[str, Any]]
    thresholds: Dict[str, float]
    # fine-tuning the final adapted model (0 without adaptation; the fold models are in build_seconds)
    adapt_seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class BuildOutcome:
    built: bool
    manifest: Manifest
    directory: Path


def fingerprint(src_hash: str, config: KBConfig) -> str:
    import hashlib

    return hashlib.sha256(f"{FORMAT_VERSION}:{src_hash}:{config.build_fingerprint()}".encode()).hexdigest()[:20]


def read_manifest(directory: Path) -> Manifest:
    data = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return Manifest(**data)


def current_manifest(output_dir: Path) -> Optional[Manifest]:
    directory = current_dir(output_dir)
    if directory is None:
        return None
    try:
        return read_manifest(directory)
    except (OSError, ValueError, TypeError):
        return None


def _publish(output_dir: Path, version_dir: Path) -> None:
    pointer = output_dir / POINTER
    tmp = output_dir / f".{POINTER}.{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(version_dir, output_dir), tmp)
    os.replace(tmp, pointer)  # atomic on POSIX: readers see the old or the new target, nothing between


def _prune(output_dir: Path, keep: int, serving: Path) -> None:
    builds = output_dir / "builds"
    versions = sorted((p for p in builds.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    for old in versions[: max(0, len(versions) - max(keep, 1))]:
        if old.resolve() != serving.resolve():
            shutil.rmtree(old, ignore_errors=True)
    for stale in builds.glob(".tmp-*"):
        # temporary directories of builds that crashed hard; older than an hour
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)


def build(config: KBConfig, force: bool = False, learned: Optional[Learned] = None) -> BuildOutcome:
    """Build when sources, encoder, settings or the learned additions changed; publish atomically. Raises on
    failure. ``learned``: what supervisors added in the console (``knowledge_base.learning.curation``): new
    phrasings of source entries and drafted entries, merged into the sources' entries for this build."""
    output_dir = config.output_dir
    src_hash = source_hash(config.sources) if config.sources.exists() else ""
    if learned is not None and learned.digest:
        src_hash = f"{src_hash}+learned:{learned.digest}"
    fp = fingerprint(src_hash, config)
    existing = current_manifest(output_dir)
    if existing is not None and existing.fingerprint == fp and not force:
        log.info("kb.build.skipped version=%s reason=unchanged", existing.version)
        return BuildOutcome(False, existing, current_dir(output_dir))  # type: ignore[arg-type]

    t0 = time.perf_counter()
    entries = load_entries(config.sources)
    if learned is not None:
        entries = merge_learned(entries, learned)
    data = records_from_entries(entries)
    encoder = get_encoder(resolve_encoder_id(config.encoder, [q for group in data.questions for q in group]))
    result = build_index(data, encoder, config)
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + fp[:8] + "-" + uuid.uuid4().hex[:4]
    builds = output_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    tmp = builds / f".tmp-{version}"
    final = builds / version
    try:
        index_files.save(result.index, tmp)
        if result.adapted is not None:
            from knowledge_base.english import adaptation

            adaptation.save(result.adapted, tmp)
        languages: Dict[str, int] = {}
        for entry in entries:
            for lang, qs in entry.questions.items():
                languages[lang] = languages.get(lang, 0) + len(qs)
        calibration = None
        if result.calibration is not None:
            c = result.calibration
            calibration = {
                "queries": c.queries,
                "oos_queries": c.oos_queries,
                "in_scope_accuracy": round(c.in_scope_accuracy, 4),
                "oos_recall": round(c.oos_recall, 4),
                "mode": c.mode,
                "generic_queries": c.generic_queries,
            }
        manifest = Manifest(
            version=version,
            format=FORMAT_VERSION,
            encoder_id=result.encoder.id,
            encoder_dim=result.encoder.dim,
            source_hash=src_hash,
            config_fingerprint=config.build_fingerprint(),
            fingerprint=fp,
            entries=result.index.n_entries,
            questions=result.index.n_questions,
            languages=languages,
            index_type=type(result.index.dense).__name__,
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - t0, 3),
            encode_seconds=round(result.encode_seconds, 3),
            adapt_seconds=round(result.adapt_seconds, 3),
            calibration=calibration,
            thresholds=asdict(result.index.thresholds),
        )
        # the manifest is written last: a directory without one is never served
        (tmp / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        index_files.load(tmp)  # read back before publishing: a corrupt write fails here, not in production
        if result.adapted is not None:
            from knowledge_base.english import adaptation

            adaptation.check_saved(result.adapted, tmp)
        os.rename(tmp, final)
        _publish(output_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True) if current_dir(output_dir) != final.resolve() else None
        raise
    _prune(output_dir, config.keep_builds, final)
    log.info(
        "kb.build.published version=%s entries=%d questions=%d seconds=%.2f",
        version,
        manifest.entries,
        manifest.questions,
        manifest.build_seconds,
    )
    return BuildOutcome(True, manifest, final)
