"""From FAQ entries to a calibrated index, and from a customer's text to a decision.

``build_index`` encodes and tokenises every question once, calibrates (cross-validation over the
same vectors), then assembles the final index. ``Matcher`` answers one query: normalise, encode,
score the entries, decide, and pick the answer in the customer's script.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from bot.language import ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, detect, normalise
from knowledge_base.adaptation import AdaptedEncoder, Adapter, applies
from knowledge_base.calibration import (
    CalibrationReport,
    apply_overrides,
    calibrate,
    generic_queries,
    thin_thresholds,
)
from knowledge_base.config import KBConfig
from knowledge_base.encoders import Encoder
from knowledge_base.index import EntryRecord, IndexData, assemble
from knowledge_base.lexical import Vocabulary, answer_terms, tokenize
from knowledge_base.matcher import ANSWER, CLARIFY, NO_ANSWER, Candidate, Decision, decide, score
from knowledge_base.source import FaqEntry

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000


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
) -> BuildResult:
    """Encode, (adapt,) calibrate and assemble. ``oos_questions`` are known out-of-scope examples (calibration only).

    When adaptation applies (``knowledge_base/adaptation.py``), calibration is cross-fitted: each fold
    re-encodes with a model adapted to that fold's index only; the final index uses a model adapted to
    every question."""
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
        report = _calibrate_thin(index, serving, config, flat, report)
        index.thresholds = report.thresholds
    index.thresholds = replace(index.thresholds, margin=config.thresholds.margin)
    t4 = time.perf_counter()
    return BuildResult(index, report, t1 - t0, t2 - t1, t4 - t3, serving, adapted, t3 - t2)


def top_scores(index: IndexData, encoder: Encoder, texts: Sequence[str], config: KBConfig) -> np.ndarray:
    """The best candidate's ranker score for each text (0 for a text without content)."""
    norm = [normalise(clean_query(t)) for t in texts]
    vectors = encoder.encode_queries(norm) if norm else np.zeros((0, encoder.dim), dtype=np.float32)
    out = np.zeros(len(norm), dtype=np.float64)
    for i, (text, vector) in enumerate(zip(norm, vectors, strict=True)):
        if not has_content(text):
            continue
        scored = score(index, vector, tokenize(text), config.matching)
        out[i] = float(scored.scores.max()) if scored.scores.size else 0.0
    return out


def _calibrate_thin(
    index: IndexData,
    encoder: Encoder,
    config: KBConfig,
    questions: Sequence[str],
    own: Optional[CalibrationReport],
) -> CalibrationReport:
    """Thin evidence (one phrasing per entry, few entries): thresholds from the shipped generic query sets."""
    in_domain, oos = generic_queries(questions)
    in_top = top_scores(index, encoder, in_domain, config)
    oos_top = top_scores(index, encoder, oos, config)
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


@dataclass(frozen=True)
class MatchedEntry:
    id: str
    score: float
    title: str


@dataclass(frozen=True)
class MatchResult:
    """What the knowledge base says about one customer message."""

    outcome: str  # answered | clarify | no_answer
    language: str  # the language and script to reply in
    answer: Optional[str]  # the answer text (answered only)
    candidates: Tuple[MatchedEntry, ...]  # answered: the entry; clarify: the options; no_answer: best guesses
    timing_ms: Dict[str, float] = field(default_factory=dict)

    def candidate_payload(self) -> List[Dict[str, object]]:
        return [{"id": c.id, "score": round(c.score, 4)} for c in self.candidates]


def reply_language(text: str, previous: Optional[str]) -> str:
    """Script of the reply: the one the message is written in, else the conversation's."""
    detected = detect(text).language
    if detected in LANGUAGES:
        return detected
    if detected == "zh":
        return previous if previous in (SIMPLIFIED, TRADITIONAL) else SIMPLIFIED
    return previous if previous in LANGUAGES else SIMPLIFIED


def clean_query(text: Optional[str]) -> str:
    text = (text or "")[:MAX_QUERY_CHARS]
    # drop control characters and NULs that some channels let through
    return "".join(ch for ch in text if ch.isprintable() or ch in " \t").strip()


def has_content(text: str) -> bool:
    """Letters or CJK characters: emoji, punctuation and digits alone carry no question."""
    return any(ch.isalpha() for ch in text)


class Matcher:
    """Answers queries against one loaded index with one encoder."""

    def __init__(self, index: IndexData, encoder: Encoder, config: KBConfig) -> None:
        if index.encoder_id != encoder.id:
            raise ValueError(f"index was built with encoder {index.encoder_id!r}, got {encoder.id!r}")
        self.index = index
        self.encoder = encoder
        self.config = config
        self.thresholds = apply_overrides(index.thresholds, config.thresholds)
        self._by_id = index.entry_index()

    def entry(self, entry_id: str) -> Optional[EntryRecord]:
        i = self._by_id.get(entry_id)
        return None if i is None else self.index.entries[i]

    def answer_text(self, entry_id: str, language: str) -> Optional[str]:
        record = self.entry(entry_id)
        if record is None:
            return None
        return record.answer.get(language) or record.answer.get(SIMPLIFIED) or record.answer.get(ENGLISH)

    def title(self, record: EntryRecord, language: str) -> str:
        if language in record.title:
            return record.title[language]
        if language == TRADITIONAL and SIMPLIFIED in record.title:
            from knowledge_base.source import to_traditional

            return to_traditional(record.title[SIMPLIFIED])
        return next(iter(record.title.values()), record.id)

    def rank(self, text: str) -> Tuple[List[Candidate], Dict[str, float]]:
        """Ranked candidates for an already cleaned query, with timings (encode, search, fusion) in ms."""
        t0 = time.perf_counter()
        normalised = normalise(text)
        vector = self.encoder.encode_queries([normalised])[0]
        terms = tokenize(normalised)
        t1 = time.perf_counter()
        scored = score(self.index, vector, terms, self.config.matching)
        ranked = scored.ranked()
        t2 = time.perf_counter()
        timing = {
            "encode": (t1 - t0) * 1000.0,
            "search": scored.timing.search_ms,
            "fusion": scored.timing.fusion_ms,
            "total": (t2 - t0) * 1000.0,
        }
        return ranked, timing

    def match(self, text: Optional[str], language: Optional[str] = None) -> MatchResult:
        query = clean_query(text)
        lang = reply_language(query, language)
        if not has_content(query):
            return MatchResult(NO_ANSWER, lang, None, ())
        ranked, timing = self.rank(query)
        decision: Decision = decide(ranked, self.thresholds, self.config.matching.clarify_max)
        candidates = tuple(
            MatchedEntry(self.index.entries[c.entry].id, c.score, self.title(self.index.entries[c.entry], lang))
            for c in decision.candidates
        )
        answer = None
        if decision.outcome == ANSWER:
            answer = self.answer_text(candidates[0].id, lang)
        return MatchResult(decision.outcome, lang, answer, candidates, timing)


__all__ = [
    "ANSWER",
    "CLARIFY",
    "NO_ANSWER",
    "BuildInput",
    "Matcher",
    "MatchResult",
    "build_index",
    "records_from_entries",
]
