"""Prometheus metrics of the console (``GET /metrics``), on a private registry."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Tuple, Union

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from console import queueing
from console.leads.metrics import lead_counts, outbox_counts, quote_overdue_counts
from console.models import Ticket
from console.states import State


class HandoffCounts:
    """``kefu_console_handoffs_total{reason}``: tickets ever opened, counted in the database at each
    scrape. A counter (it only grows), so ``rate()`` and ``increase()`` work on it, and it survives
    console restarts."""

    def __init__(self) -> None:
        self.counts: Dict[str, float] = {}

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily("kefu_console_handoffs", "Tickets ever opened, by reason", labels=["reason"])

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for reason, count in sorted(self.counts.items()):
            family.add_metric([reason], count)
        yield family


class ConsoleMetrics:
    def __init__(self, teams: Union[list, Callable[[], list]], config: Optional[Mapping[str, Any]] = None,
                 hours_for: Optional[Callable[[str], queueing.StaffedHours]] = None) -> None:
        """``teams``: the team ids, or a function giving the current ones (teams change in the console's
        administration); ``hours_for``: a team's staffed hours (default: the shop's for every team)."""
        self.registry = CollectorRegistry()
        self._teams = teams
        self.hours_for = hours_for
        sla = dict((config or {}).get("sla") or {})
        self.first_response_seconds = float(sla.get("first_response_seconds", 60))
        self.first_response_clock = str(sla.get("first_response_clock", queueing.STAFFED_HOURS))
        staffed = (config or {}).get("staffed_hours")
        self.hours = queueing.StaffedHours.from_config(staffed) if staffed else None
        self.queue_length = Gauge("kefu_console_queue_length", "Tickets waiting in the queue", ["team"],
                                  registry=self.registry)
        self.oldest_wait = Gauge("kefu_console_oldest_waiting_seconds", "Wait of the oldest queued ticket", ["team"],
                                 registry=self.registry)
        self.first_overdue = Gauge(
            "kefu_console_first_response_overdue",
            "Queued tickets past their first-response target (on the SLA clock: staffed hours by default)", ["team"],
            registry=self.registry)
        self.staffed = Gauge("kefu_console_staffed", "1 inside staffed hours, else 0", registry=self.registry)
        self.tickets = Gauge("kefu_console_tickets", "Tickets by state", ["state"], registry=self.registry)
        self.handoffs = HandoffCounts()
        self.registry.register(self.handoffs)
        self.tailed = Counter("kefu_console_events_tailed", "Rasa events read from the event broker",
                              registry=self.registry)
        self.tail_lag = Gauge("kefu_console_events_tail_lag_seconds", "Age of the last event read",
                              registry=self.registry)
        self.dead_letters = Counter("kefu_console_events_dead_letters", "Events the tail gave up on (dead-lettered)",
                                    registry=self.registry)
        self.tail_degraded = Gauge("kefu_console_events_tail_degraded", "1 while /health says the tail is degraded",
                                   registry=self.registry)
        self.leads = Gauge("kefu_console_leads", "Presales leads by product line, channel and quote status",
                           ["product_line", "channel", "status"], registry=self.registry)
        self.quote_overdue = Gauge("kefu_console_leads_quote_overdue",
                                   "Open leads past the quote time the customer was promised, by product line",
                                   ["product_line"], registry=self.registry)
        self.lead_events = Gauge("kefu_console_lead_webhook_events",
                                 "Lead webhook events by delivery state (pending, delivered, dead)", ["state"],
                                 registry=self.registry)
        self.logins = Counter("kefu_console_logins", "Login attempts by outcome (ok, failed, rate_limited)",
                              ["outcome"], registry=self.registry)

    @property
    def teams(self) -> list:
        return self._teams() if callable(self._teams) else self._teams

    def render(self, session: sa.orm.Session, last_event_at: float | None) -> Tuple[bytes, str]:
        now = time.time()
        for team in self.teams:
            self.queue_length.labels(team).set(0)
            self.oldest_wait.labels(team).set(0)
            self.first_overdue.labels(team).set(0)
        self.staffed.set(1 if self.hours is None or self.hours.is_staffed(now) else 0)
        overdue: Dict[str, int] = {}
        for team, created in session.execute(sa.select(Ticket.team, Ticket.created_at).where(
                Ticket.state == State.QUEUED.value, Ticket.first_response_at.is_(None))):
            hours = self.hours_for(team) if self.hours_for is not None else self.hours
            if queueing.due(created, self.first_response_seconds, self.first_response_clock, hours) < now:
                overdue[team] = overdue.get(team, 0) + 1
        for team, count in overdue.items():
            self.first_overdue.labels(team).set(count)
        rows = session.execute(sa.select(Ticket.team, sa.func.count(), sa.func.min(Ticket.created_at))
                               .where(Ticket.state == State.QUEUED.value).group_by(Ticket.team))
        for team, count, oldest in rows:
            self.queue_length.labels(team).set(count)
            self.oldest_wait.labels(team).set(max(0.0, now - oldest) if oldest else 0)
        for state in (State.QUEUED, State.ASSIGNED, State.CLOSED, State.RETURNED_TO_BOT):
            self.tickets.labels(state.value).set(0)
        for state, count in session.execute(sa.select(Ticket.state, sa.func.count()).group_by(Ticket.state)):
            self.tickets.labels(state).set(count)
        self.handoffs.counts = {
            str(reason): float(count)
            for reason, count in session.execute(sa.select(Ticket.reason, sa.func.count()).group_by(Ticket.reason))
        }
        self.leads.clear()
        for product_line, channel, status, count in lead_counts(session):
            self.leads.labels(product_line or "", channel or "", status).set(count)
        self.quote_overdue.clear()
        self.quote_overdue.labels("").set(0)  # the series exists (at 0) before the first lead is late
        for product_line, count in quote_overdue_counts(session, self.hours, now).items():
            self.quote_overdue.labels(product_line).set(count)
        for state, count in outbox_counts(session).items():
            self.lead_events.labels(state).set(count)
        self.tail_lag.set(max(0.0, now - last_event_at) if last_event_at else 0)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
