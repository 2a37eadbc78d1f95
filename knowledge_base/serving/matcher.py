"""From a customer's text to a decision: normalise, encode, score the entries, decide, and pick the answer
in the customer's script (one loaded index, one encoder)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from kernel.i18n import to_traditional
from kernel.language import ENGLISH, LANGUAGES, SIMPLIFIED, TRADITIONAL, detect, normalise
from knowledge_base.config import KBConfig
from knowledge_base.serving.colloquial import plain_question
from knowledge_base.serving.encoders import Encoder
from knowledge_base.serving.index import EntryRecord, IndexData
from knowledge_base.serving.lexical import tokenize
from knowledge_base.serving.scoring import (
    ANSWER,
    CLARIFY,
    NO_ANSWER,
    Candidate,
    CandidateFeatures,
    Decision,
    apply_overrides,
    candidate_features,
    decide,
    score,
)

MAX_QUERY_CHARS = 1000


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

    #: the candidate-feature function (an evaluation variant sets its own: ``knowledge_base.learning.ablation``)
    candidate_features: CandidateFeatures = staticmethod(candidate_features)

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
            return to_traditional(record.title[SIMPLIFIED])
        return next(iter(record.title.values()), record.id)

    def rank(self, text: str) -> Tuple[List[Candidate], Dict[str, float]]:
        """Ranked candidates for an already cleaned query, with timings (encode, search, fusion) in ms."""
        t0 = time.perf_counter()
        normalised = plain_question(normalise(text))  # "对了 门店自提收钱不" → "门店自提收钱吗"
        vector = self.encoder.encode_queries([normalised])[0]
        terms = tokenize(normalised)
        t1 = time.perf_counter()
        scored = score(self.index, vector, terms, self.config.matching, self.candidate_features)
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
    "MAX_QUERY_CHARS",
    "NO_ANSWER",
    "MatchedEntry",
    "MatchResult",
    "Matcher",
    "clean_query",
    "has_content",
    "reply_language",
]
