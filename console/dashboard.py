"""Supervisor dashboard metrics. Statistics are pure functions over plain facts; ``dashboard`` gathers the rows.

The service measures (docs/operations.md, "Service measures"), for a window of time, overall and broken down by
channel or by language:

- **conversations**: Rasa conversations (sender ids) with a customer message in the window
  (``console_conversation_days``) or a ticket opened in it; **handed off**: those with a ticket; **containment** = (conversations - handed off) /
  conversations.
- **FAQ answer rate**: FAQ turns the bot answered / all FAQ turns (answered + "did you mean" + no answer).
- **answer helpfulness**: 👍 / (👍 + 👎) on bot FAQ answers (``console_feedback`` kind ``answer``).
- **bot CSAT**: average and count of the 1-5 ratings of conversations the bot handled alone (kind ``bot_csat``).
- **CES**: average and count of the 1-5 customer-effort ratings after a handoff (kind ``ces``; 1 very easy).
- **agent CSAT**: average and count of the 1-5 ratings of tickets opened in the window.
- **first-contact resolution (FCR)**: of the tickets opened in the window that are finished (closed or handed back
  to the bot), the share that were closed ``resolved``, never became a follow-up (a low rating reopens a ticket,
  console/tickets/followups.py), and were not followed by a new ticket of the same customer within 7 days of the
  close (the same customer: the verified customer id; unverified, the same conversation).
- **repeat-contact rate**: a contact is one conversation's customer messages on one UTC day; the share of the
  window's contacts followed by another contact of the same customer (on any channel) that starts later and at
  most 7 days after the contact's last message.
- **follow-ups**: tickets opened in the window that a low rating made a follow-up.
- **handoffs by reason**, median **first response** (ticket opened -> first agent message) and median **handle time**
  (claimed -> closed or handed back) of the tickets opened in the window.

A conversation is counted under one channel and one language: those of ``console_conversations`` (the events tail
fills them), else its ticket's, else ``unknown``; a feedback row under its own channel and language, else its
conversation's. Every time this module returns is ISO 8601 with an offset (UTC, ``Z``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.models import ConversationRow
from console.feedback.models import FeedbackRow
from console.leads.metrics import presales_summary
from console.models import ConversationDay, Ticket
from console.queueing import iso
from console.states import State
from console.tickets.followups import FollowUpRow
from kernel.handoff import REASONS

#: how long after a contact (or a ticket's close) another contact of the same customer counts as a repeat
REPEAT_WINDOW_SECONDS = 7 * 86400
#: the longest date range the dashboard and its CSV export accept
MAX_RANGE_DAYS = 366
#: the rolling windows the ``days`` parameter accepts
MAX_DAYS = 90
DIMENSIONS = ("channel", "language")
UNKNOWN = "unknown"
FINISHED_STATES = (State.CLOSED.value, State.RETURNED_TO_BOT.value)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RangeError(ValueError):
    """A bad ``from``/``to``/``days``/``by``: the API answers 400 with this message."""


def containment_rate(conversations: int, handed_off: int) -> Optional[float]:
    """Share of conversations resolved without a human; None when there were none."""
    if conversations <= 0:
        return None
    return round(max(0, conversations - handed_off) / conversations, 4)


def median_or_none(values: Sequence[float]) -> Optional[float]:
    clean = [v for v in values if v is not None and v >= 0]
    return round(statistics.median(clean), 1) if clean else None


def csat_summary(ratings: Iterable[int]) -> Dict[str, Any]:
    ratings = [r for r in ratings if r is not None]
    distribution = {str(i): 0 for i in range(1, 6)}
    for r in ratings:
        distribution[str(r)] += 1
    return {"average": round(sum(ratings) / len(ratings), 2) if ratings else None, "count": len(ratings),
            "distribution": distribution}


def faq_summary(answered: int, clarify: int, no_answer: int) -> Dict[str, Any]:
    total = answered + clarify + no_answer
    return {"answered": answered, "clarify": clarify, "no_answer": no_answer,
            "answer_rate": round(answered / total, 4) if total else None}


def rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def average(values: Sequence[int]) -> Dict[str, Any]:
    return {"average": round(sum(values) / len(values), 2) if values else None, "count": len(values)}


# -- the window -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    start: float
    end: float
    days: int

    @property
    def start_day(self) -> str:
        return _day(self.start)

    @property
    def last_day(self) -> str:
        """The last UTC day inside the window (``end`` is exclusive)."""
        return _day(max(self.start, self.end - 0.001))


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def _date(name: str, value: str) -> date:
    if not _DATE.match(value):
        raise RangeError(f"{name} must be a date YYYY-MM-DD, not {value[:40]!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RangeError(f"{name} is not a real date: {value!r}") from None


def parse_window(now: float, days: Optional[str] = None, start: Optional[str] = None,
                 end: Optional[str] = None) -> Window:
    """The window of a request: ``from``/``to`` (UTC dates, both inclusive; one alone: a week ending or starting
    there), else the last ``days`` days (1-90, rolling, 7 by default)."""
    if start or end:
        if days not in (None, ""):
            raise RangeError("give either days or from/to, not both")
        first = _date("from", start) if start else None
        last = _date("to", end) if end else None
        first = first or (last - timedelta(days=6))  # type: ignore[operator]
        last = last or min(first + timedelta(days=6), datetime.fromtimestamp(now, timezone.utc).date())
        if first > last:
            raise RangeError(f"from ({first}) is after to ({last})")
        span = (last - first).days + 1
        if span > MAX_RANGE_DAYS:
            raise RangeError(f"the range is {span} days; at most {MAX_RANGE_DAYS} days")
        begin = datetime(first.year, first.month, first.day, tzinfo=timezone.utc).timestamp()
        return Window(begin, begin + span * 86400, span)
    try:
        n = int(days) if days not in (None, "") else 7
    except ValueError:
        raise RangeError("days must be an integer") from None
    if not 1 <= n <= MAX_DAYS:
        raise RangeError(f"days must be between 1 and {MAX_DAYS}")
    return Window(now - n * 86400, now, n)


def parse_dimension(value: Optional[str]) -> str:
    value = value or "channel"
    if value not in DIMENSIONS:
        raise RangeError(f"by must be one of {', '.join(DIMENSIONS)}")
    return value


# -- facts: plain rows the measures are computed from ------------------------------------------------
@dataclass(frozen=True)
class Contact:
    """One conversation's customer messages on one UTC day."""

    sender_id: str
    day: str
    first_at: float
    last_at: float
    customer: str  # customer key: ``c:<verified id>`` or ``s:<sender id>``
    answered: int = 0
    clarify: int = 0
    no_answer: int = 0


@dataclass(frozen=True)
class TicketFact:
    id: int
    sender_id: str
    customer: str
    created_at: float
    state: str
    resolution: Optional[str] = None
    closed_at: Optional[float] = None
    csat: Optional[int] = None
    follow_up: bool = False
    reason: str = ""
    first_response_at: Optional[float] = None
    assigned_at: Optional[float] = None


@dataclass(frozen=True)
class Vote:
    """A feedback row: ``kind`` answer (value 0/1), bot_csat or ces (1-5)."""

    sender_id: str
    kind: str
    value: int
    channel: str = ""
    language: str = ""


def customer_key(customer_id: Optional[str], sender_id: str) -> str:
    return f"c:{customer_id}" if customer_id else f"s:{sender_id}"


def first_contact_resolved(ticket: TicketFact, later: Sequence[TicketFact]) -> bool:
    """Closed ``resolved``, no follow-up, and no other ticket of the same customer opened after it and at most
    7 days after its close (``later``: the customer's tickets)."""
    if ticket.state != State.CLOSED.value or ticket.resolution != "resolved" or ticket.follow_up:
        return False
    closed = ticket.closed_at or ticket.created_at
    return not any(o.id != ticket.id and ticket.created_at < o.created_at <= closed + REPEAT_WINDOW_SECONDS
                   for o in later)


def repeated(contact: Contact, others: Sequence[Contact]) -> bool:
    """Another contact of the same customer starts after this one starts and at most 7 days after it ends."""
    return any((o.sender_id, o.day) != (contact.sender_id, contact.day)
               and contact.first_at < o.first_at <= contact.last_at + REPEAT_WINDOW_SECONDS for o in others)


def figures(contacts: Sequence[Contact], tickets: Sequence[TicketFact], votes: Sequence[Vote],
            contacts_by_customer: Mapping[str, Sequence[Contact]],
            tickets_by_customer: Mapping[str, Sequence[TicketFact]]) -> Dict[str, Any]:
    """Every service measure of one slice: the window's contacts, tickets and feedback of one channel or language
    (or all); ``*_by_customer``: every contact / ticket of each customer from the window's start on, any slice."""
    conversations = len({c.sender_id for c in contacts} | {t.sender_id for t in tickets})
    handed = len({t.sender_id for t in tickets})
    answers = [v.value for v in votes if v.kind == "answer"]
    finished = [t for t in tickets if t.state in FINISHED_STATES]
    fcr = sum(1 for t in finished if first_contact_resolved(t, tickets_by_customer.get(t.customer, ())))
    again = sum(1 for c in contacts if repeated(c, contacts_by_customer.get(c.customer, ())))
    return {
        "conversations": conversations,
        "handed_off": handed,
        "containment_rate": containment_rate(conversations, handed),
        "faq": faq_summary(sum(c.answered for c in contacts), sum(c.clarify for c in contacts),
                           sum(c.no_answer for c in contacts)),
        "answer_helpful": {"votes": len(answers), "helpful": sum(1 for v in answers if v == 1),
                           "rate": rate(sum(1 for v in answers if v == 1), len(answers))},
        "bot_csat": average([v.value for v in votes if v.kind == "bot_csat"]),
        "ces": average([v.value for v in votes if v.kind == "ces"]),
        "agent_csat": average([t.csat for t in tickets if t.csat]),
        "fcr": {"tickets": len(finished), "resolved_first": fcr, "rate": rate(fcr, len(finished))},
        "repeat_contact": {"contacts": len(contacts), "repeated": again, "rate": rate(again, len(contacts))},
        "follow_ups": sum(1 for t in tickets if t.follow_up),
        "handoffs_by_reason": {r: sum(1 for t in tickets if t.reason == r) for r in REASONS},
        "first_response_seconds": _timing([t.first_response_at - t.created_at for t in tickets
                                           if t.first_response_at]),
        "handle_seconds": _timing([t.closed_at - t.assigned_at for t in tickets if t.closed_at and t.assigned_at]),
    }


def breakdown(by: str, contacts: Sequence[Contact], tickets: Sequence[TicketFact], votes: Sequence[Vote],
              slice_of: Mapping[str, Tuple[str, str]], contacts_by_customer: Mapping[str, Sequence[Contact]],
              tickets_by_customer: Mapping[str, Sequence[TicketFact]]) -> List[Dict[str, Any]]:
    """One row of figures per channel (or language), the busiest first. ``slice_of``: sender -> (channel, language)."""
    index = DIMENSIONS.index(by)

    def key_of_sender(sender_id: str) -> str:
        return slice_of.get(sender_id, (UNKNOWN, UNKNOWN))[index]

    def key_of_vote(vote: Vote) -> str:
        own = (vote.channel, vote.language)[index]
        return own or key_of_sender(vote.sender_id)

    keys = {key_of_sender(c.sender_id) for c in contacts} | {key_of_sender(t.sender_id) for t in tickets} \
        | {key_of_vote(v) for v in votes}
    rows = []
    for key in keys:
        rows.append({"key": key, **figures([c for c in contacts if key_of_sender(c.sender_id) == key],
                                           [t for t in tickets if key_of_sender(t.sender_id) == key],
                                           [v for v in votes if key_of_vote(v) == key],
                                           contacts_by_customer, tickets_by_customer)})
    return sorted(rows, key=lambda r: (-r["conversations"], r["key"]))


# -- gathering ----------------------------------------------------------------------------------------
@dataclass
class Facts:
    contacts: List[Contact]
    tickets: List[TicketFact]
    votes: List[Vote]
    slice_of: Dict[str, Tuple[str, str]]
    contacts_by_customer: Dict[str, List[Contact]]
    tickets_by_customer: Dict[str, List[TicketFact]]
    ticket_rows: List[Ticket]
    day_rows: List[Any]


def _ticket_customer(ticket: Any) -> Optional[str]:
    try:
        customer = json.loads(ticket.customer_json or "{}")
    except ValueError:
        return None
    if isinstance(customer, dict) and customer.get("verified") and customer.get("id"):
        return str(customer["id"])
    return None


def gather(session: Session, window: Window) -> Facts:
    """Read the window's rows, and the later ones a repeat can be (7 days past the window's last contact or its
    tickets' last close), into plain facts."""
    horizon_day = (date.fromisoformat(window.last_day) + timedelta(days=8)).isoformat()
    day_rows = list(session.execute(
        sa.select(ConversationDay.sender_id, ConversationDay.day, ConversationDay.channel,
                  ConversationDay.user_messages, ConversationDay.faq_answered, ConversationDay.faq_clarify,
                  ConversationDay.faq_no_answer, ConversationDay.first_at, ConversationDay.last_at)
        .where(ConversationDay.day >= window.start_day, ConversationDay.day <= horizon_day,
               ConversationDay.user_messages > 0)))
    ticket_rows = list(session.scalars(sa.select(Ticket).where(Ticket.created_at >= window.start,
                                                               Ticket.created_at < window.end)))
    horizon = max([window.end, *(t.closed_at for t in ticket_rows if t.closed_at)]) + REPEAT_WINDOW_SECONDS
    later_rows = list(session.execute(sa.select(Ticket.id, Ticket.sender_id, Ticket.customer_json, Ticket.created_at,
                                                Ticket.state)
                                      .where(Ticket.created_at >= window.end, Ticket.created_at < horizon)))
    follow_ups = set(session.scalars(sa.select(FollowUpRow.ticket_id).join(Ticket, Ticket.id == FollowUpRow.ticket_id)
                                     .where(Ticket.created_at >= window.start, Ticket.created_at < window.end)))
    feedback = list(session.execute(
        sa.select(FeedbackRow.sender_id, FeedbackRow.kind, FeedbackRow.value, FeedbackRow.channel, FeedbackRow.language)
        .where(FeedbackRow.created_at >= window.start, FeedbackRow.created_at < window.end)))
    senders = {r.sender_id for r in day_rows} | {t.sender_id for t in ticket_rows} | {f.sender_id for f in feedback} \
        | {t.sender_id for t in later_rows}
    conversations: Dict[str, ConversationRow] = {}
    sender_list = sorted(senders)
    for i in range(0, len(sender_list), 500):
        chunk = sender_list[i:i + 500]
        for row in session.scalars(sa.select(ConversationRow).where(ConversationRow.sender_id.in_(chunk))):
            conversations[row.sender_id] = row

    def customer_of(sender_id: str, ticket_customer: Optional[str] = None) -> str:
        conv = conversations.get(sender_id)
        return customer_key(ticket_customer or (conv.customer_id if conv else None), sender_id)

    slice_of: Dict[str, Tuple[str, str]] = {}
    latest_ticket: Dict[str, Ticket] = {}
    for t in sorted(ticket_rows, key=lambda t: t.created_at):
        latest_ticket[t.sender_id] = t
    day_channel = {r.sender_id: r.channel for r in day_rows if r.channel}
    for sender in senders:
        conv, ticket = conversations.get(sender), latest_ticket.get(sender)
        channel = (conv.channel if conv else "") or (ticket.channel if ticket else "") or day_channel.get(sender, "")
        language = (conv.language if conv else "") or (ticket.language if ticket else "")
        slice_of[sender] = (channel or UNKNOWN, language or UNKNOWN)

    all_contacts = [Contact(r.sender_id, r.day, r.first_at, r.last_at, customer_of(r.sender_id), r.faq_answered,
                            r.faq_clarify, r.faq_no_answer) for r in day_rows]
    tickets = [TicketFact(t.id, t.sender_id, customer_of(t.sender_id, _ticket_customer(t)), t.created_at, t.state,
                          t.resolution, t.closed_at, t.csat_rating, t.id in follow_ups, t.reason,
                          t.first_response_at, t.assigned_at) for t in ticket_rows]
    later = [TicketFact(t.id, t.sender_id, customer_of(t.sender_id, _ticket_customer(t)), t.created_at, t.state)
             for t in later_rows]
    contacts_by_customer: Dict[str, List[Contact]] = defaultdict(list)
    for c in all_contacts:
        contacts_by_customer[c.customer].append(c)
    tickets_by_customer: Dict[str, List[TicketFact]] = defaultdict(list)
    for t in tickets + later:
        tickets_by_customer[t.customer].append(t)
    contacts = [c for c in all_contacts if c.day <= window.last_day]
    votes = [Vote(f.sender_id, f.kind, int(f.value), f.channel or "", f.language or "") for f in feedback]
    return Facts(contacts, tickets, votes, slice_of, dict(contacts_by_customer), dict(tickets_by_customer),
                 ticket_rows, [r for r in day_rows if r.day <= window.last_day])


def aware_time(value: Any) -> Optional[str]:
    """An ISO 8601 time with an offset: a naive one (the knowledge base's SQLite store returns naive UTC) is UTC."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return iso(float(value))
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return iso(parsed.timestamp())


def with_offsets(unanswered: Dict[str, Any]) -> Dict[str, Any]:
    groups = [{**g, "last_seen": aware_time(g.get("last_seen"))} for g in unanswered.get("groups") or []]
    return {**unanswered, "groups": groups}


def dashboard(session: Session, now: float, window: Window, unanswered: Dict[str, Any],
              by: str = "channel") -> Dict[str, Any]:
    """The dashboard's numbers for ``window`` (``parse_window``), broken down ``by`` channel or language."""
    facts = gather(session, window)
    tickets = facts.ticket_rows
    overall = figures(facts.contacts, facts.tickets, facts.votes, facts.contacts_by_customer, facts.tickets_by_customer)
    conversations, handed = overall["conversations"], overall["handed_off"]
    reasons = overall["handoffs_by_reason"]
    daily_conv: Dict[str, Set[str]] = defaultdict(set)
    for r in facts.day_rows:
        daily_conv[r.day].add(r.sender_id)
    daily_tickets: Dict[str, List[Ticket]] = defaultdict(list)
    for t in tickets:
        daily_tickets[_day(t.created_at)].append(t)
    days_list = sorted(set(daily_conv) | set(daily_tickets))
    open_rows = list(session.execute(sa.select(Ticket.state, Ticket.created_at)
                                     .where(Ticket.state.in_([State.QUEUED.value, State.ASSIGNED.value]))))
    queued = [r.created_at for r in open_rows if r.state == State.QUEUED.value]
    return {
        "window": {"from": iso(window.start), "to": iso(window.end), "days": window.days,
                   "first_day": window.start_day, "last_day": window.last_day},
        "conversations": conversations,
        "handed_off": handed,
        "containment_rate": overall["containment_rate"],
        "handoffs_by_reason": reasons,
        "handoff_rate_by_reason": {r: rate(n, conversations) for r, n in reasons.items()},
        "faq": overall["faq"],
        "first_response_seconds": overall["first_response_seconds"],
        "handle_seconds": overall["handle_seconds"],
        "csat": csat_summary(t.csat_rating for t in tickets if t.csat_rating),
        "measures": overall,
        "breakdown": {"by": by, "rows": breakdown(by, facts.contacts, facts.tickets, facts.votes, facts.slice_of,
                                                  facts.contacts_by_customer, facts.tickets_by_customer)},
        "queue": {"queued": len(queued), "assigned": len(open_rows) - len(queued),
                  "oldest_wait_seconds": int(now - min(queued)) if queued else 0},
        "daily": [
            {"date": d,
             "conversations": len(set(daily_conv.get(d, ())) | {t.sender_id for t in daily_tickets.get(d, [])}),
             "handoffs": len(daily_tickets.get(d, [])),
             "csat_average": csat_summary(t.csat_rating for t in daily_tickets.get(d, []) if t.csat_rating)["average"]}
            for d in days_list
        ],
        "unanswered": with_offsets(unanswered),
        "presales": presales_summary(session, window.start),
    }


def _timing(values: List[float]) -> Dict[str, Any]:
    return {"median": median_or_none(values), "count": len(values)}


# -- CSV export ---------------------------------------------------------------------------------------
#: the export's columns: header -> how to read it from a row of figures
CSV_COLUMNS: Tuple[Tuple[str, Callable[[Mapping[str, Any]], Any]], ...] = (
    ("conversations", lambda f: f["conversations"]),
    ("handed_off", lambda f: f["handed_off"]),
    ("containment_rate", lambda f: f["containment_rate"]),
    ("faq_answered", lambda f: f["faq"]["answered"]),
    ("faq_clarify", lambda f: f["faq"]["clarify"]),
    ("faq_no_answer", lambda f: f["faq"]["no_answer"]),
    ("faq_answer_rate", lambda f: f["faq"]["answer_rate"]),
    ("answer_votes", lambda f: f["answer_helpful"]["votes"]),
    ("answer_helpful", lambda f: f["answer_helpful"]["helpful"]),
    ("answer_helpful_rate", lambda f: f["answer_helpful"]["rate"]),
    ("bot_csat_average", lambda f: f["bot_csat"]["average"]),
    ("bot_csat_count", lambda f: f["bot_csat"]["count"]),
    ("ces_average", lambda f: f["ces"]["average"]),
    ("ces_count", lambda f: f["ces"]["count"]),
    ("agent_csat_average", lambda f: f["agent_csat"]["average"]),
    ("agent_csat_count", lambda f: f["agent_csat"]["count"]),
    ("fcr_tickets", lambda f: f["fcr"]["tickets"]),
    ("fcr_resolved_first", lambda f: f["fcr"]["resolved_first"]),
    ("fcr_rate", lambda f: f["fcr"]["rate"]),
    ("repeat_contacts", lambda f: f["repeat_contact"]["contacts"]),
    ("repeat_contacts_repeated", lambda f: f["repeat_contact"]["repeated"]),
    ("repeat_contact_rate", lambda f: f["repeat_contact"]["rate"]),
    ("follow_ups", lambda f: f["follow_ups"]),
    ("first_response_median_seconds", lambda f: f["first_response_seconds"]["median"]),
    ("handle_median_seconds", lambda f: f["handle_seconds"]["median"]),
    *((f"handoffs_{r}", (lambda f, r=r: f["handoffs_by_reason"][r])) for r in REASONS),
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(data: Mapping[str, Any]) -> bytes:
    """The dashboard's measures as CSV (UTF-8 with a BOM, so Excel reads the Chinese): one row for all
    conversations, then one per channel or language of the breakdown."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    window, by = data["window"], data["breakdown"]["by"]
    writer.writerow([csv_cell(x) for x in ("from", "to", by, *(name for name, _ in CSV_COLUMNS))])
    rows = [("all", data["measures"]), *((row["key"], row) for row in data["breakdown"]["rows"])]
    for key, figs in rows:
        writer.writerow([csv_cell(x) for x in (window["first_day"], window["last_day"], key,
                                               *(read(figs) for _, read in CSV_COLUMNS))])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
