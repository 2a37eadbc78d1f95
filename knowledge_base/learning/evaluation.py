"""``python -m knowledge_base eval``: accuracy and out-of-scope detection on labelled queries.

``--train FILE --test FILE``: a temporary knowledge base with one entry per training label (its texts
are the entry's questions) is built and calibrated on the training file alone; then every test query
is answered. ``--test FILE`` alone evaluates the project's knowledge base (labels are entry ids).

Files: CSV with a header ``text,label`` or ``sentence,label`` (``category`` and ``intent`` are accepted
as the label column too), or JSONL with ``{"text": ..., "label": ...}``. A label of ``oos``,
``NO_NODES_DETECTED`` or empty means out-of-scope.

A clarify outcome counts as answering with its first option; ``clarify_rate`` is reported beside.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from kernel.language import ENGLISH
from knowledge_base.building.indexing import BuildInput, build_index
from knowledge_base.config import KBConfig
from knowledge_base.serving.encoders import get_encoder, resolve_encoder_id
from knowledge_base.serving.index import EntryRecord
from knowledge_base.serving.matcher import Matcher, clean_query, has_content, reply_language
from knowledge_base.serving.scoring import ANSWER, CLARIFY, NO_ANSWER, decide

OOS_LABELS = frozenset({"", "oos", "no_nodes_detected", "out_of_scope"})
OOS = "oos"


class DataError(ValueError):
    """An evaluation file cannot be read."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # "oos" for out-of-scope


def _label(raw: Optional[str]) -> str:
    value = (raw or "").strip()
    return OOS if value.lower() in OOS_LABELS else value


def read_examples(path: Path) -> List[Example]:
    """Read CSV (text|sentence, label|category|intent) or JSONL ({"text","label"})."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    examples: List[Example] = []
    if path.suffix.lower() in (".jsonl", ".json"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not valid JSON: {exc.msg}") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise DataError(f'{path}:{number}: each line must be an object with a "text" string')
            label = row.get("label")
            examples.append(Example(row["text"], _label(label if isinstance(label, str) else None)))
        return examples
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        text_col = next((f for f in ("text", "sentence", "question", "query") if f in fields), None)
        label_col = next((f for f in ("label", "category", "intent") if f in fields), None)
        if text_col is None or label_col is None:
            raise DataError(
                f"{path}: need a header with text (or sentence) and label (or category) columns, got {fields}"
            )
        original = {f.strip().lower(): f for f in reader.fieldnames or []}
        for row in reader:
            text = row.get(original[text_col]) or ""
            if not text.strip():
                continue
            examples.append(Example(text, _label(row.get(original[label_col]))))
    return examples


def build_input_from_examples(train: Sequence[Example]) -> Tuple[BuildInput, List[str]]:
    from kernel.language import normalise

    groups: Dict[str, List[str]] = {}
    oos: List[str] = []
    for ex in train:
        if ex.label == OOS:
            oos.append(ex.text)
        else:
            groups.setdefault(ex.label, []).append(ex.text)
    records: List[EntryRecord] = []
    questions: List[List[str]] = []
    for label, texts in groups.items():
        norm = list(dict.fromkeys(normalise(clean_query(t)) for t in texts if clean_query(t)))
        if not norm:
            continue
        records.append(EntryRecord(label, "eval", {ENGLISH: label}, {ENGLISH: texts[0]}))
        questions.append(norm)
    if len(records) < 2:
        raise DataError("the training file needs at least two in-scope labels")
    return BuildInput(records, questions), oos


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else 0.0


def evaluate_matcher(matcher: Matcher, test: Sequence[Example]) -> Dict[str, object]:
    n_in = n_oos = correct_in = top1_in = refused_oos = refused_in = clarified = 0
    predicted_oos = 0
    rr = 0.0
    latencies: List[float] = []
    encode_ms: List[float] = []
    per_lang: Dict[str, Dict[str, int]] = {}
    for ex in test:
        t0 = time.perf_counter()
        query = clean_query(ex.text)
        if has_content(query):
            ranked, timing = matcher.rank(query)
            encode_ms.append(timing["encode"])
            decision = decide(ranked, matcher.thresholds, matcher.config.matching.clarify_max)
        else:
            ranked, decision = [], decide([], matcher.thresholds)
        latencies.append((time.perf_counter() - t0) * 1000.0)
        ids = [matcher.index.entries[c.entry].id for c in ranked[:5]]
        outcome = decision.outcome
        predicted = OOS if outcome == NO_ANSWER else ids[0]
        clarified += outcome == CLARIFY
        if predicted == OOS:
            predicted_oos += 1
        lang = reply_language(query, None)
        stats = per_lang.setdefault(lang, {"in_scope": 0, "correct": 0, "top1": 0, "oos": 0, "refused_oos": 0})
        if ex.label == OOS:
            n_oos += 1
            refused_oos += predicted == OOS
            stats["oos"] += 1
            stats["refused_oos"] += predicted == OOS
        else:
            stats["in_scope"] += 1
            stats["correct"] += predicted == ex.label
            stats["top1"] += bool(ids) and ids[0] == ex.label
            n_in += 1
            correct_in += predicted == ex.label
            top1_in += bool(ids) and ids[0] == ex.label
            refused_in += predicted == OOS
            if ex.label in ids:
                rr += 1.0 / (ids.index(ex.label) + 1)
    total = n_in + n_oos
    return {
        "in_scope_accuracy": round(correct_in / n_in, 4) if n_in else None,
        "in_scope_top1_no_threshold": round(top1_in / n_in, 4) if n_in else None,
        "oos_recall": round(refused_oos / n_oos, 4) if n_oos else None,
        "oos_precision": round(refused_oos / predicted_oos, 4) if predicted_oos else None,
        "overall_accuracy": round((correct_in + refused_oos) / total, 4) if total else None,
        "mrr_at_5": round(rr / n_in, 4) if n_in else None,
        "clarify_rate": round(clarified / total, 4) if total else None,
        "in_scope_refused": refused_in,
        "counts": {"test": total, "in_scope": n_in, "oos": n_oos, "entries": matcher.index.n_entries},
        "latency_ms": {
            "p50": round(_percentile(latencies, 50), 3),
            "p95": round(_percentile(latencies, 95), 3),
            "encode_p50": round(_percentile(encode_ms, 50), 3),
        },
        "by_language": {
            lang: {
                "in_scope_accuracy": round(st["correct"] / st["in_scope"], 4) if st["in_scope"] else None,
                "in_scope_top1_no_threshold": round(st["top1"] / st["in_scope"], 4) if st["in_scope"] else None,
                "oos_recall": round(st["refused_oos"] / st["oos"], 4) if st["oos"] else None,
                "in_scope": st["in_scope"],
                "oos": st["oos"],
            }
            for lang, st in sorted(per_lang.items())
        },
        "thresholds": {
            "refuse": matcher.thresholds.refuse,
            "answer": matcher.thresholds.answer,
            "margin": matcher.thresholds.margin,
        },
    }


def evaluate_files(train_path: Path, test_path: Path, config: KBConfig) -> Dict[str, object]:
    train = read_examples(train_path)
    test = read_examples(test_path)
    data, oos = build_input_from_examples(train)
    encoder = get_encoder(resolve_encoder_id(config.encoder, [q for group in data.questions for q in group]))
    t0 = time.perf_counter()
    built = build_index(data, encoder, config, oos_questions=oos)
    build_s = time.perf_counter() - t0
    matcher = Matcher(built.index, built.encoder, config)
    result = evaluate_matcher(matcher, test)
    result["encoder"] = built.encoder.id
    result["counts"]["train"] = len(train)  # type: ignore[index]
    result["counts"]["train_oos"] = len(oos)  # type: ignore[index]
    result["build_seconds"] = round(build_s, 2)
    result["adapt_seconds"] = round(built.adapt_seconds, 2)
    if built.calibration is not None:
        result["calibration"] = {
            "queries": built.calibration.queries,
            "oos_queries": built.calibration.oos_queries,
            "in_scope_accuracy": round(built.calibration.in_scope_accuracy, 4),
            "oos_recall": round(built.calibration.oos_recall, 4),
            "mode": built.calibration.mode,
        }
    return result


def evaluate_project(test_path: Path, matcher: Matcher) -> Dict[str, object]:
    test = read_examples(test_path)
    known = set(matcher.index.entry_index())
    unknown = sorted({ex.label for ex in test if ex.label != OOS and ex.label not in known})
    if unknown:
        raise DataError(f"{test_path}: labels that are not entry ids: {unknown[:10]}")
    result = evaluate_matcher(matcher, test)
    result["encoder"] = matcher.encoder.id
    return result


__all__ = ["ANSWER", "DataError", "Example", "evaluate_files", "evaluate_project", "read_examples"]
