"""Prometheus metrics of the action server, on a private registry (``GET /metrics`` of ``actions.server``).

| metric | type | labels |
|---|---|---|
| ``kefu_action_duration_seconds`` | histogram | ``action`` |
| ``kefu_action_errors_total`` | counter | ``action``, ``kind`` (``exception`` / ``not_found``) |
| ``kefu_actions_in_progress`` | gauge | |
| ``kefu_faq_outcomes_total`` | counter | ``outcome`` (answered / clarify / no_answer), ``language`` |
| ``kefu_handoffs_requested_total`` | counter | ``reason``, ``console`` (``ok`` / ``down``) |
| ``kefu_escalation_words_refresh_failures_total`` | counter | ``kind`` (``unreachable`` / ``status`` / ``bad_body``) |

Label values are bounded: unknown action names become ``unknown``, unknown outcomes, languages and
reasons ``other``. The recording functions never raise: a metric must not cost a customer a reply.
"""

from __future__ import annotations

import logging
from typing import Iterable, Tuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kernel.handoff import REASONS
from kernel.language import LANGUAGES

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

#: Action runs range from a slot check (milliseconds) to a knowledge-base query or a store call.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FAQ_OUTCOMES = ("answered", "clarify", "no_answer")
#: Every handoff reason of the contract (``kernel.handoff``), so each series exists from the start.
HANDOFF_REASONS = REASONS
OTHER = "other"
UNKNOWN_ACTION = "unknown"

ACTION_DURATION = Histogram(
    "kefu_action_duration_seconds", "Time spent running one custom action, by action",
    ["action"], buckets=DURATION_BUCKETS, registry=REGISTRY,
)
ACTION_ERRORS = Counter(
    "kefu_action_errors", "Action calls that failed: the action raised, or no such action",
    ["action", "kind"], registry=REGISTRY,
)
ACTIONS_IN_PROGRESS = Gauge("kefu_actions_in_progress", "Action calls being run now", registry=REGISTRY)
FAQ_TURNS = Counter(
    "kefu_faq_outcomes", "FAQ turns by outcome: answered, clarify (did you mean...), no_answer",
    ["outcome", "language"], registry=REGISTRY,
)
HANDOFFS = Counter(
    "kefu_handoffs_requested", "Handoffs to a person requested by the bot, by reason and console reachability",
    ["reason", "console"], registry=REGISTRY,
)
#: where a presales turn went: answered from the knowledge base, an intake started, pointed to checkout (below the
#: bulk threshold), a lead handed to sales, an intake the customer cancelled. Qualification rate = lead / (lead +
#: checkout); docs/presales.md.
PRESALES_OUTCOMES = ("knowledge_base", "intake", "checkout", "lead", "cancelled")
PRESALES = Counter(
    "kefu_presales_outcomes", "Presales desk turns by outcome: knowledge_base, intake, checkout, lead, cancelled",
    ["outcome", "priority"], registry=REGISTRY,
)

#: a refresh of the supervisors' escalation words (actions/escalation_words.py) that kept the last known lists
ESCALATION_REFRESH_FAILURES = ("unreachable", "status", "bad_body")
ESCALATION_WORDS_FAILURES = Counter(
    "kefu_escalation_words_refresh_failures",
    "Refreshes of the console's escalation word lists that failed (the last known lists stay): unreachable, "
    "status (not 200), bad_body", ["kind"], registry=REGISTRY,
)

#: how action calls brought the conversation's events (actions/known_events.py): full (every event, Rasa's call),
#: delta (only the new ones, on a log this server holds), unknown (a delta on a log it does not hold: Rasa sends
#: every event again)
ACTION_EVENTS_KINDS = ("full", "delta", "unknown")
ACTION_EVENTS = Counter(
    "kefu_action_events_calls",
    "Action calls by how they brought the conversation's events: full, delta (only the new ones), unknown (a delta "
    "on a log this server does not hold, sent again in full)", ["kind"], registry=REGISTRY,
)

for _kind in ACTION_EVENTS_KINDS:
    ACTION_EVENTS.labels(_kind)
for _kind in ESCALATION_REFRESH_FAILURES:
    ESCALATION_WORDS_FAILURES.labels(_kind)
for _outcome in FAQ_OUTCOMES:
    for _language in LANGUAGES:
        FAQ_TURNS.labels(_outcome, _language)
for _reason in HANDOFF_REASONS:
    for _console in ("ok", "down"):
        HANDOFFS.labels(_reason, _console)


def _bounded(value: object, allowed: Iterable[str]) -> str:
    return value if isinstance(value, str) and value in allowed else OTHER


def record_faq_outcome(outcome: str, language: str) -> None:
    try:
        FAQ_TURNS.labels(_bounded(outcome, FAQ_OUTCOMES), _bounded(language, LANGUAGES)).inc()
    except Exception:  # pragma: no cover - prometheus_client does not raise here; a reply must not depend on it
        log.exception("metrics.record_failed metric=faq_outcomes")


def record_handoff(reason: str, console_reached: bool) -> None:
    try:
        HANDOFFS.labels(_bounded(reason, HANDOFF_REASONS), "ok" if console_reached else "down").inc()
    except Exception:  # pragma: no cover
        log.exception("metrics.record_failed metric=handoffs_requested")


def record_presales(outcome: str, priority: str = "") -> None:
    try:
        PRESALES.labels(_bounded(outcome, PRESALES_OUTCOMES), _bounded(priority, ("hot", "warm")) if priority else "").inc()
    except Exception:  # pragma: no cover
        log.exception("metrics.record_failed metric=presales_outcomes")


def record_escalation_refresh_failure(kind: str) -> None:
    try:
        ESCALATION_WORDS_FAILURES.labels(_bounded(kind, ESCALATION_REFRESH_FAILURES)).inc()
    except Exception:  # pragma: no cover
        log.exception("metrics.record_failed metric=escalation_words_refresh_failures")


def render() -> Tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
