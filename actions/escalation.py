"""When to hand a conversation to a person: a pure decision over the conversation's signals.

Triggers and their switches live in ``actions/escalation.yml``; the word lists a supervisor saved in the console
(``explicit_request.keywords``, ``complaint.keywords``, ``complaint.evidence``) replace the YAML's, as the action
server last fetched them (actions/escalation_words.py). ``decide`` is
what ``action_handoff`` uses to name the reason and category; ``auto_escalation``
is for the fallback ladder (actions/fallback.py): after a miss it says whether
to offer a person, hand over at once, or neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

import yaml

from actions import escalation_words
from actions.sentiment import TranscriptSentiment, score_message, score_transcript
from actions.turns import count_misses, intent_of, turns
from kernel.handoff import REASONS
from kernel.language import normalise
from kernel.questions import names_someone

CONFIG_FILE = Path(__file__).resolve().parent / "escalation.yml"
MODES = ("escalate", "offer")


class EscalationConfigError(ValueError):
    pass


@dataclass(frozen=True)
class EscalationConfig:
    triggers: Dict[str, Dict[str, Any]]
    categories: Dict[str, Any]

    def enabled(self, trigger: str) -> bool:
        return bool(self.triggers.get(trigger, {}).get("enabled", False))

    def intents(self, trigger: str) -> frozenset:
        return frozenset(self.triggers.get(trigger, {}).get("intents") or [])

    def mode(self, trigger: str) -> str:
        return str(self.triggers.get(trigger, {}).get("mode", "escalate"))


def parse_config(raw: Mapping[str, Any]) -> EscalationConfig:
    triggers = dict(raw.get("triggers") or {})
    unknown = set(triggers) - set(REASONS)
    if unknown:
        raise EscalationConfigError(f"unknown trigger(s): {sorted(unknown)}")
    for name, spec in triggers.items():
        if not isinstance(spec, dict):
            raise EscalationConfigError(f"{name}: expected a mapping")
        if spec.get("mode", "escalate") not in MODES:
            raise EscalationConfigError(f"{name}: mode must be one of {MODES}")
    misses = triggers.get("repeated_misses", {})
    if misses and int(misses.get("threshold", 2)) < 1:
        raise EscalationConfigError("repeated_misses.threshold must be at least 1")
    sentiment = triggers.get("negative_sentiment", {})
    if sentiment and not -1.0 <= float(sentiment.get("threshold", -0.6)) <= 0.0:
        raise EscalationConfigError("negative_sentiment.threshold must be between -1 and 0")
    evidence = triggers.get("complaint", {}).get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(w, str) and w.strip() for w in evidence):
        raise EscalationConfigError("complaint.evidence must be a list of non-empty words")
    return EscalationConfig(triggers, dict(raw.get("categories") or {}))


@lru_cache(maxsize=4)
def _parsed(path: Path) -> EscalationConfig:
    return parse_config(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def load_yaml_config(path: Path = CONFIG_FILE) -> EscalationConfig:
    """actions/escalation.yml as written (parsed once)."""
    return _parsed(path)


def merge_overrides(base: EscalationConfig, overrides: escalation_words.Overrides) -> EscalationConfig:
    """``base`` with the supervisors' word lists in place of its own (the other settings unchanged)."""
    triggers = dict(base.triggers)
    for (trigger, name), words in overrides.lists.items():
        triggers[trigger] = {**(triggers.get(trigger) or {}), name: list(words)}
    return EscalationConfig(triggers, base.categories)


_merged: Dict[Any, EscalationConfig] = {}


def load_config(path: Path = CONFIG_FILE) -> EscalationConfig:
    """The configuration in effect: the YAML, with the console's saved word lists over it (actions/escalation.yml
    only for another ``path`` or before the console's lists were read). Merged once per version of the lists."""
    base = load_yaml_config(path)
    overrides = escalation_words.current()
    if overrides is None or not overrides.lists or path != CONFIG_FILE:
        return base
    key = (id(base), overrides.version)
    merged = _merged.get(key)
    if merged is None:
        if len(_merged) >= 4:
            _merged.clear()
        merged = _merged[key] = merge_overrides(base, overrides)
    return merged


@dataclass(frozen=True)
class Signals:
    """What the conversation says, extracted from the tracker (see ``signals_from_events``)."""

    intent: Optional[str]  # the latest customer intent
    previous_intents: Sequence[str] = ()  # earlier intents, oldest first
    misses_before: int = 0  # consecutive misses before the latest turn
    misses_now: int = 0  # consecutive misses including the latest turn
    sentiment: TranscriptSentiment = field(default_factory=lambda: score_transcript([]))
    identity_locked: bool = False
    filled_slots: frozenset = frozenset()


@dataclass(frozen=True)
class Decision:
    reason: str
    category: str
    trigger: str  # e.g. "intent:complain", "misses:2", "sentiment:-0.72", "slot:order_lookup_locked"
    mode: str = "escalate"  # escalate | offer

    def to_dict(self) -> Dict[str, str]:
        return {"reason": self.reason, "category": self.category, "trigger": self.trigger, "mode": self.mode}


def infer_category(reason: str, signals: Signals, config: EscalationConfig) -> str:
    cats = config.categories
    if reason in ("complaint", "presales"):
        return "complaint" if reason == "complaint" else "presales"
    groups = (("complaint", cats.get("complaint_intents") or []), ("presales", cats.get("presales_intents") or []),
              ("after_sales", cats.get("after_sales_intents") or []))
    for intent in reversed([*signals.previous_intents, signals.intent or ""]):
        for category, intents in groups:
            if intent in intents:
                return category
    if reason == "negative_sentiment":
        return (cats.get("defaults") or {}).get(reason, "complaint")
    if signals.filled_slots & frozenset(cats.get("after_sales_slots") or []):
        return "after_sales"
    return (cats.get("defaults") or {}).get(reason, "other")


def _sentiment_trigger(signals: Signals, config: EscalationConfig) -> Optional[str]:
    if not config.enabled("negative_sentiment"):
        return None
    threshold = float(config.triggers["negative_sentiment"].get("threshold", -0.6))
    worst = signals.sentiment.worst_score
    if signals.sentiment.recent_strongly_negative or worst <= threshold and signals.sentiment.score <= threshold:
        return f"sentiment:{worst:.2f}"
    return None


def decide(signals: Signals, config: EscalationConfig) -> Optional[Decision]:
    """Why this conversation goes to a person, or None when no enabled trigger applies."""
    def made(reason: str, trigger: str, mode: str = "escalate") -> Decision:
        return Decision(reason, infer_category(reason, signals, config), trigger, mode)

    intent = signals.intent
    if intent in config.intents("complaint") and config.enabled("complaint"):
        return made("complaint", f"intent:{intent}")
    if intent in config.intents("presales") and config.enabled("presales"):
        return made("presales", f"intent:{intent}")
    identity_slots = config.triggers.get("identity", {}).get("slots") or []
    if intent in config.intents("explicit_request") and config.enabled("explicit_request"):
        if signals.identity_locked and config.enabled("identity"):
            return made("identity", f"intent:{intent}+slot:{'|'.join(identity_slots)}")
        threshold = int(config.triggers.get("repeated_misses", {}).get("threshold", 2))
        if config.enabled("repeated_misses") and signals.misses_before >= threshold:
            return made("repeated_misses", f"intent:{intent}+misses:{signals.misses_before}")
        return made("explicit_request", f"intent:{intent}")
    # automatic triggers (the fallback ladder, or a handover it asked for)
    sentiment = _sentiment_trigger(signals, config)
    if sentiment:
        return made("negative_sentiment", sentiment, config.mode("negative_sentiment"))
    if config.enabled("repeated_misses"):
        threshold = int(config.triggers["repeated_misses"].get("threshold", 2))
        misses = max(signals.misses_now, signals.misses_before)
        if misses >= threshold:
            return made("repeated_misses", f"misses:{misses}", config.mode("repeated_misses"))
    if signals.identity_locked and config.enabled("identity"):
        return made("identity", f"slot:{'|'.join(identity_slots)}", config.mode("identity"))
    return None


# -- extracting the signals from Rasa events (plain dicts, as in tracker.events) ----------------------
def keyword_intent(text: Optional[str], config: EscalationConfig) -> Optional[str]:
    """The escalation intent a message names outright ("我要投诉", "转人工"), whatever NLU predicted."""
    if not text:
        return None
    normalised = normalise(text)
    for trigger in ("complaint", "explicit_request"):
        if not config.enabled(trigger):
            continue
        keywords = config.triggers.get(trigger, {}).get("keywords") or []
        if any(normalise(str(k)) in normalised for k in keywords):
            intents = sorted(config.intents(trigger))
            return intents[0] if intents else None
    return None


def complaint_evidence(texts: Sequence[str], config: EscalationConfig) -> bool:
    """Whether the customer's messages give something to complain about: a complaint keyword, a negative word
    of the sentiment lexicon, or a problem word of the complaint trigger's ``evidence`` list."""
    spec = config.triggers.get("complaint", {})
    words = [normalise(str(w)) for w in [*(spec.get("keywords") or []), *(spec.get("evidence") or [])]]
    for text in texts:
        if not text or text.startswith("/"):
            continue
        normalised = normalise(text)
        if any(w and w in normalised for w in words) or score_message(text).score < 0:
            return True
    return False


def unfounded_complaint(events: Sequence[Mapping[str, Any]], config: Optional[EscalationConfig] = None) -> bool:
    """Whether this turn is NLU's ``complain`` with nothing to complain about in the customer's last two messages
    (and no button, no complaint keyword): a question misread, to be answered rather than handed over."""
    config = config or load_config()
    spec = config.triggers.get("complaint", {})
    if not (config.enabled("complaint") and spec.get("require_evidence")):
        return False
    user_turns = turns(events)
    if not user_turns:
        return False
    latest = user_turns[-1][0]
    text = str(latest.get("text") or "")
    if intent_of(latest) not in config.intents("complaint") or text.startswith("/"):
        return False
    recent = [str(t[0].get("text") or "") for t in user_turns[-2:]]
    return not complaint_evidence(recent, config)


def names_nobody(text: Optional[str]) -> bool:
    """Whether free text that NLU read as a request for a person names nobody to talk to and is not upset: "can my
    husband grab it instead of me" is a shop question (actions/handoff.py answers it when the knowledge base is sure)."""
    if not text or text.startswith("/"):
        return False
    return not names_someone(text) and score_message(text).score >= 0


def asks_for_a_person(text: Optional[str]) -> bool:
    """Whether a message itself names a complaint or a person, per the configured keywords."""
    return keyword_intent(text, load_config()) is not None


def signals_from_events(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any],
                        config: EscalationConfig) -> Signals:
    user_turns = turns(events)
    intents = [keyword_intent(t[0].get("text"), config) or intent_of(t[0]) for t in user_turns]
    intents = [i for i in intents if i]
    customer_texts = [str(t[0].get("text") or "") for t in user_turns]
    spec = config.triggers.get("negative_sentiment", {})
    sentiment = score_transcript(customer_texts, int(spec.get("window", 3)), float(spec.get("threshold", -0.6)))
    locked = any(bool(slots.get(name)) for name in config.triggers.get("identity", {}).get("slots") or [])
    return Signals(
        intent=intents[-1] if intents and user_turns and (
            intent_of(user_turns[-1][0]) or keyword_intent(user_turns[-1][0].get("text"), config)) else None,
        previous_intents=tuple(intents[:-1]),
        misses_before=count_misses(user_turns[:-1]),
        misses_now=count_misses(user_turns),
        sentiment=sentiment,
        identity_locked=locked,
        filled_slots=frozenset(k for k, v in slots.items() if v not in (None, "", [], {}, False)),
    )


def auto_escalation(events: Sequence[Mapping[str, Any]], slots: Mapping[str, Any],
                    config: Optional[EscalationConfig] = None) -> Optional[Decision]:
    """For the fallback ladder, after a miss: hand over (mode "escalate"), offer (mode "offer"), or None.

    Only the automatic triggers apply here (misses, sentiment, identity lock); the intents
    that always escalate are routed to ``action_handoff`` by rules.
    """
    config = config or load_config()
    signals = signals_from_events(events, slots, config)
    auto = Signals(None, signals.previous_intents, signals.misses_before, signals.misses_now, signals.sentiment,
                   signals.identity_locked, signals.filled_slots)
    return decide(auto, config)
