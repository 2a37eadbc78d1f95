"""Lexicon sentiment for Chinese (both scripts) and English: pure functions, scored per message.

A message scores in [-1, 1]: the sum of its lexicon hits (negation flips and
damps a hit, an intensifier right before it strengthens it, "!!!" and CAPS
strengthen the whole message), squashed with ``total / (|total| + 2)``.
``strongly_negative`` (<= -0.6 by default) is an escalation trigger
(actions/escalation.yml). No model, no I/O after the lexicon is read once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from kernel.language import is_cjk, normalise

LEXICON_FILE = Path(__file__).resolve().parent / "sentiment_lexicon.yml"
STRONGLY_NEGATIVE = -0.6
NEGATIVE = -0.2
POSITIVE = 0.2
_NEGATION_WINDOW_ZH = 3  # characters before a Chinese hit
_NEGATION_WINDOW_EN = 3  # words before an English hit
_WORD = re.compile(r"[a-z0-9']+")
_RHETORICAL_ZH = ("是不是", "是否", "难道", "不就是")  # "你们是不是骗子" is not a negation
_EXCLAIM = re.compile(r"[!！]{2,}")
_QUESTION_EXCLAIM = re.compile(r"[?？][!！]|[!！][?？]")


@dataclass(frozen=True)
class Lexicon:
    negative: Dict[str, float]
    positive: Dict[str, float]
    negators: Tuple[str, ...]
    intensifiers: Dict[str, float]

    @property
    def words(self) -> Dict[str, float]:
        return {**self.positive, **self.negative}


@dataclass(frozen=True)
class Sentiment:
    score: float  # -1 (furious) .. 1 (delighted)
    label: str  # strongly_negative | negative | neutral | positive
    hits: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, object]:
        return {"score": self.score, "label": self.label, "hits": list(self.hits)}


def _section(raw: dict) -> Lexicon:
    return Lexicon(
        negative={normalise(str(k)): float(v) for k, v in (raw.get("negative") or {}).items()},
        positive={normalise(str(k)): float(v) for k, v in (raw.get("positive") or {}).items()},
        negators=tuple(normalise(str(n)) for n in raw.get("negators") or []),
        intensifiers={normalise(str(k)): float(v) for k, v in (raw.get("intensifiers") or {}).items()},
    )


@lru_cache(maxsize=4)
def load_lexicons(path: Path = LEXICON_FILE) -> Tuple[Lexicon, Lexicon]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _section(raw["zh"]), _section(raw["en"])


def label_for(score: float, strongly_negative: float = STRONGLY_NEGATIVE) -> str:
    if score <= strongly_negative:
        return "strongly_negative"
    if score <= NEGATIVE:
        return "negative"
    if score >= POSITIVE:
        return "positive"
    return "neutral"


def _negated(weight: float) -> float:
    """'not happy' is negative; 'not angry' is only mildly positive."""
    return -weight * (0.6 if weight > 0 else 0.3)


def _zh_hits(text: str, lex: Lexicon) -> List[Tuple[str, float]]:
    """Longest-match scan of the normalised text for Chinese lexicon words."""
    words = lex.words
    longest = max((len(w) for w in words), default=1)
    hits: List[Tuple[str, float]] = []
    i = 0
    while i < len(text):
        match = None
        for size in range(min(longest, len(text) - i), 0, -1):
            candidate = text[i:i + size]
            if candidate in words and (size > 1 or is_cjk(candidate)):
                match = candidate
                break
        if match is None:
            i += 1
            continue
        weight = words[match]
        before = text[max(0, i - _NEGATION_WINDOW_ZH):i]
        # a word that already contains its negation ("不满意") is scored as written
        rhetorical = any(q in text[max(0, i - 4):i] for q in _RHETORICAL_ZH)
        bare = before
        for intensifier in sorted(lex.intensifiers, key=len, reverse=True):
            bare = bare.replace(intensifier, " " * len(intensifier))  # "非常" is not the negator "非"
        if not rhetorical and any(n in bare for n in lex.negators) and not any(match.startswith(n) for n in lex.negators):
            weight = _negated(weight)
        for intensifier, factor in lex.intensifiers.items():
            if before.endswith(intensifier):
                weight *= factor
                break
        hits.append((match, weight))
        i += len(match)
    return hits


def _en_hits(text: str, lex: Lexicon) -> List[Tuple[str, float]]:
    tokens = _WORD.findall(text)
    words = lex.words
    hits: List[Tuple[str, float]] = []
    i = 0
    while i < len(tokens):
        match, size = None, 1
        if i + 1 < len(tokens) and f"{tokens[i]} {tokens[i + 1]}" in words:
            match, size = f"{tokens[i]} {tokens[i + 1]}", 2
        elif tokens[i] in words:
            match = tokens[i]
        if match is None:
            i += 1
            continue
        weight = words[match]
        before = tokens[max(0, i - _NEGATION_WINDOW_EN):i]
        if any(t in lex.negators for t in before):
            weight = _negated(weight)
        if before and before[-1] in lex.intensifiers:
            weight *= lex.intensifiers[before[-1]]
        hits.append((match, weight))
        i += size
    return hits


def score_message(text: Optional[str], strongly_negative: float = STRONGLY_NEGATIVE) -> Sentiment:
    """Sentiment of one customer message."""
    if not text or text.startswith("/"):
        return Sentiment(0.0, "neutral")
    zh, en = load_lexicons()
    normalised = normalise(text)
    hits = _zh_hits(normalised, zh) + _en_hits(normalised, en)
    total = sum(weight for _, weight in hits)
    if total < 0:
        if _EXCLAIM.search(text) or _QUESTION_EXCLAIM.search(text):
            total *= 1.3
        caps = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper()]
        if caps and len(caps) >= max(1, len(re.findall(r"[A-Za-z]{3,}", text)) // 2):
            total *= 1.3
    score = round(total / (abs(total) + 2.0), 3) if total else 0.0
    return Sentiment(score, label_for(score, strongly_negative), tuple(word for word, _ in hits))


@dataclass(frozen=True)
class TranscriptSentiment:
    score: float  # mean of the recent customer messages
    label: str
    worst_score: float
    worst_message: Optional[str]
    recent_strongly_negative: bool  # one of the last ``window`` messages is strongly negative

    def to_dict(self) -> Dict[str, object]:
        return {"score": self.score, "label": self.label, "worst_score": self.worst_score,
                "worst_message": self.worst_message, "recent_strongly_negative": self.recent_strongly_negative}


def score_transcript(messages: Sequence[str], window: int = 3,
                     strongly_negative: float = STRONGLY_NEGATIVE) -> TranscriptSentiment:
    """Sentiment over the customer's messages (oldest first): the recent mean and the worst message."""
    scored = [(m, score_message(m, strongly_negative)) for m in messages if m and not m.startswith("/")]
    if not scored:
        return TranscriptSentiment(0.0, "neutral", 0.0, None, False)
    recent = scored[-window:]
    mean = round(sum(s.score for _, s in recent) / len(recent), 3)
    worst_text, worst = min(scored, key=lambda pair: pair[1].score)
    recent_strong = any(s.label == "strongly_negative" for _, s in recent)
    label = "strongly_negative" if recent_strong else label_for(mean, strongly_negative)
    return TranscriptSentiment(mean, label, worst.score, worst_text if worst.score < 0 else None, recent_strong)
