"""From FAQ entries to a calibrated index, in memory.

``build_index`` encodes and tokenises every question once, calibrates (cross-validation over the
same vectors), then assembles the final index. Where the encoder has a sentence-transformers part, the
optional English stack adapts it to the entries first (``knowledge_base.english.adaptation``). Writing a
build to disk and publishing it is ``knowledge_base.building.builder``'s job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, List, Optional, Sequence

import numpy as np

from kernel.language import normalise
from knowledge_base.building.assemble import assemble
from knowledge_base.building.calibration import CalibrationReport, calibrate, generic_queries, thin_thresholds
from knowledge_base.building.source import FaqEntry
from knowledge_base.config import KBConfig
from knowledge_base.serving.encoders import Encoder, adaptable_part
from knowledge_base.serving.index import EntryRecord, IndexData
from knowledge_base.serving.lexical import Vocabulary, answer_terms, tokenize
from knowledge_base.serving.matcher import MAX_QUERY_CHARS, clean_query, has_content
from knowledge_base.serving.scoring import CandidateFeatures, candidate_features, score

if TYPE_CHECKING:  # the optional English stack: imported only where adaptation applies
    from knowledge_base.english.adaptation import AdaptedEncoder, Adapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildInput:
    """Questions grouped by entry, ready to index."""

    records: List[EntryRecord]
    questions: List[List[str]]  # normalised, de-duplicated per entry
    #: per entry, its answer texts and tags (all languages) as lexical evidence; None when the entries have no
    #: real answer text (the eval harness's entries made from labelled examples)
    answers: Optional[List[str]] = None


def records_from_entries(entries: Sequence[FaqEntry]) -> BuildInput:
    records: List[EntryRecord] = []
    questions: List[List[str]] = []
    answers: List[str] = []
    for entry in entries:
        title = {lang: entry.questions[lang][0] for lang in entry.questions if entry.questions[lang]}
        records.append(EntryRecord(entry.id, entry.category, dict(entry.answer), title))
        normalised = [normalise(q) for _lang, q in entry.all_questions()]
        questions.append(list(dict.fromkeys(q for q in normalised if q.strip())))
        answers.append("\n".join([*entry.answer.values(), " ".join(entry.tags)]))
    return BuildInput(records, questions, answers)


@dataclass
class BuildResult:
    index: IndexData
    calibration: Optional[CalibrationReport]
    encode_seconds: float
    calibrate_seconds: float
    assemble_seconds: float
    encoder: Encoder  # what answers queries against this index (an adapted build's own encoder)
    adapted: Optional[AdaptedEncoder] = None
    adapt_seconds: float = 0.0


def _split(items, groups: Sequence[Sequence[object]]) -> list:
    """Cut a flat array or list into one slice per entry (entries own consecutive rows)."""
    out, start = [], 0
    for group in groups:
        out.append(items[start : start + len(group)])
        start += len(group)
    return out


def build_index(
    data: BuildInput,
    encoder: Encoder,
    config: KBConfig,
    oos_questions: Sequence[str] = (),
    calibrate_thresholds: bool = True,
    features: CandidateFeatures = candidate_features,
) -> BuildResult:
    """Encode, (adapt,) calibrate and assemble. ``oos_questions`` are known out-of-scope examples (calibration only).

    When adaptation applies (``knowledge_base/english/adaptation.py``), calibration is cross-fitted: each fold
    re-encodes with a model adapted to that fold's index only; the final index uses a model adapted to
    every question. ``features``: the candidate-feature function calibration scores with (the product's, or
    an evaluation variant's: ``knowledge_base.learning.ablation``)."""
    t0 = time.perf_counter()
    flat = [q for group in data.questions for q in group]
    vectors = encoder.encode_passages(flat) if flat else np.zeros((0, encoder.dim), dtype=np.float32)
    tokens = [tokenize(q) for q in flat]
    oos_norm = [normalise(q[:MAX_QUERY_CHARS]) for q in oos_questions]
    oos_vectors = encoder.encode_queries(oos_norm) if oos_norm else None
    oos_tokens = [tokenize(q) for q in oos_norm]
    t1 = time.perf_counter()
    per_entry_vecs = _split(vectors, data.questions)
    per_entry_toks: List[List[List[str]]] = _split(tokens, data.questions)
    extra: Optional[List[List[str]]] = None
    if config.matching.answer_terms and data.answers is not None:
        extra = [answer_terms(a) for a in data.answers]
    vocab = Vocabulary.build(tokens + (extra or []))
    counts = [len(group) for group in data.questions]
    adapter: Optional[Adapter] = None
    if config.adaptation.enabled and adaptable_part(encoder) is not None:
        # a sentence-transformers part exists, so the optional English stack is installed
        from knowledge_base.english.adaptation import Adapter, applies

        if applies(encoder, counts, config.adaptation, config.matching.classifier_min_examples):
            adapter = Adapter(encoder, config.adaptation)
    refit = None
    fixed = fixed_oos = None
    if adapter is not None:
        fixed = adapter.fixed_blocks(vectors)
        fixed_oos = adapter.fixed_blocks(oos_vectors) if oos_vectors is not None else None
        labels = np.repeat(np.arange(len(counts)), counts)
        offsets = np.concatenate([[0], np.cumsum(counts)])

        def refit(keep: List[int], masks: List[np.ndarray]):
            rows, fold_labels = [], []
            for j, (e, mask) in enumerate(zip(keep, masks, strict=True)):
                for i in np.flatnonzero(mask):
                    rows.append(offsets[e] + i)
                    fold_labels.append(j)
            texts = [flat[r] for r in rows]
            fold_fixed = [None if block is None else block[rows] for block in fixed]
            steps = adapter.steps_for(len(flat)) if config.adaptation.fold_steps == "final" else None
            fold = adapter.fit(texts, np.asarray(fold_labels), len(keep), steps, fold_fixed)
            fold_vectors = _split(fold.vectors(adapter, fixed, flat), data.questions)
            fold_oos = fold.vectors(adapter, fixed_oos, oos_norm) if fixed_oos is not None else None
            return fold_vectors, fold_oos, fold.classifier

    report: Optional[CalibrationReport] = None
    if calibrate_thresholds and len(data.records) >= 2:
        report = calibrate(
            data.records,
            per_entry_vecs,
            per_entry_toks,
            config.matching,
            config.calibration,
            config.thresholds,
            encoder.id,
            vocab,
            oos_vectors=oos_vectors,
            oos_tokens=oos_tokens,
            refit=refit,
            folds=min(config.calibration.folds, config.adaptation.calibration_folds) if adapter else None,
            entry_extra_tokens=extra,
            features=features,
        )
    t2 = time.perf_counter()
    adapted: Optional[AdaptedEncoder] = None
    classifier = None
    serving = encoder
    if adapter is not None:
        adapted = adapter.fit(flat, labels, len(counts), fixed=fixed)
        per_entry_vecs = _split(adapted.vectors(adapter, fixed, flat), data.questions)
        classifier, serving = adapted.classifier, adapted.encoder
    t3 = time.perf_counter()
    index = assemble(
        data.records,
        data.questions,
        per_entry_vecs,
        per_entry_toks,
        config.index,
        config.matching.classifier_min_examples,
        serving.id,
        vocab=vocab,
        classifier=classifier,
        entry_extra_tokens=extra,
    )
    if report is not None:
        index.ranker = report.ranker
        index.thresholds = report.thresholds
    thin = report is None or report.queries < config.calibration.thin_min_queries
    if calibrate_thresholds and len(data.records) >= 2 and thin:
        report = _calibrate_thin(index, serving, config, flat, report, features)
        index.thresholds = report.thresholds
    index.thresholds = replace(index.thresholds, margin=config.thresholds.margin)
    t4 = time.perf_counter()
    return BuildResult(index, report, t1 - t0, t2 - t1, t4 - t3, serving, adapted, t3 - t2)


def top_scores(
    index: IndexData,
    encoder: Encoder,
    texts: Sequence[str],
    config: KBConfig,
    features: CandidateFeatures = candidate_features,
) -> np.ndarray:
    """The best candidate's ranker score for each text (0 for a text without content)."""
    norm = [normalise(clean_query(t)) for t in texts]
    vectors = encoder.encode_queries(norm) if norm else np.zeros((0, encoder.dim), dtype=np.float32)
    out = np.zeros(len(norm), dtype=np.float64)
    for i, (text, vector) in enumerate(zip(norm, vectors, strict=True)):
        if not has_content(text):
            continue
        scored = score(index, vector, tokenize(text), config.matching, features)
        out[i] = float(scored.scores.max()) if scored.scores.size else 0.0
    return out


def _calibrate_thin(
    index: IndexData,
    encoder: Encoder,
    config: KBConfig,
    questions: Sequence[str],
    own: Optional[CalibrationReport],
    features: CandidateFeatures,
) -> CalibrationReport:
    """Thin evidence (one phrasing per entry, few entries): thresholds from the shipped generic query sets."""
    in_domain, oos = generic_queries(questions)
    in_top = top_scores(index, encoder, in_domain, config, features)
    oos_top = top_scores(index, encoder, oos, config, features)
    thresholds = thin_thresholds(in_top, oos_top, config.calibration, config.thresholds.margin)
    report = CalibrationReport(
        queries=own.queries if own is not None else 0,
        oos_queries=len(oos),
        in_scope_accuracy=float((in_top >= thresholds.refuse).mean()) if in_top.size else 0.0,
        oos_recall=float((oos_top < thresholds.refuse).mean()) if oos_top.size else 0.0,
        thresholds=thresholds,
        ranker=index.ranker,
        mode="generic",
        generic_queries=len(in_domain) + len(oos),
    )
    log.info(
        "kb.calibrated mode=generic own_queries=%d generic_in=%d generic_oos=%d kept_in=%.3f oos_recall=%.3f "
        "refuse=%.3f answer=%.3f",
        report.queries,
        len(in_domain),
        len(oos),
        report.in_scope_accuracy,
        report.oos_recall,
        thresholds.refuse,
        thresholds.answer,
    )
    return report


__all__ = ["BuildInput", "BuildResult", "build_index", "records_from_entries", "top_scores"]
