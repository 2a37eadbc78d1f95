"""Service measures on the supervisor dashboard (issue 23): figures computed by the console from seeded
conversations, tickets and feedback match the numbers worked out by hand below, on SQLite and PostgreSQL, overall and
by channel and language; the CSV export; clear refusals of bad ranges; times with an offset (issue 27, defect 9);
and the low rating that reopens a ticket as a follow-up for a supervisor."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.customers.models import ConversationRow
from console.dashboard import csv_cell
from console.feedback.models import FeedbackRow
from console.models import ConversationDay, Ticket
from console.tickets.followups import FollowUpRow, follow_up_rating
from kernel.handoff import REASONS
from knowledge_base.learning.unanswered import Record, UnansweredStore
from tests.console.process import Console, EventsTable, FakeRasa

T0 = datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp()  # the window: 2026-11-02 .. 2026-11-08 (UTC)
RANGE = "from=2026-11-02&to=2026-11-08"
HOUR, DAY = 3600.0, 86400.0
OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


def at(day: int, hour: float) -> float:
    return T0 + day * DAY + hour * HOUR


@pytest.fixture(params=["sqlite", "postgresql"])
def db_console(request: pytest.FixtureRequest, tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    db_url = request.getfixturevalue("pg_schema_url") if request.param == "postgresql" else None
    console = Console.create(tmp_path / "console", fake_rasa.url, db_url=db_url).start()
    yield console
    console.stop()


def engine_of(console: Console) -> sa.Engine:
    return sa.create_engine(console.env["KEFU_CONSOLE_DB_URL"])


# -- the seed -------------------------------------------------------------------------------------------
# conversations: sender -> (channel, language, verified customer)
CONVERSATIONS = {
    "w1": ("wechat", "zh-Hans", "C1"),
    "web1": ("socketio", "zh-Hans", "C1"),
    "web2": ("socketio", "en", None),
    "wc2": ("wechat", "zh-Hant", "C2"),
    "wc3": ("wechat", "zh-Hant", "C2"),
    "web3": ("socketio", "en", None),
    "w4": ("wechat", "en", None),
    "old1": ("wechat", "zh-Hans", None),
}
# contacts (conversation days): sender, day index, first hour, last hour, answered, clarify, no_answer
CONTACTS = [
    ("w1", 0, 10.0, 10.1, 2, 0, 1),
    ("w1", 2, 9.0, 9.2, 1, 0, 0),
    ("web2", 1, 8.0, 8.3, 1, 0, 1),
    ("web1", 3, 12.0, 12.5, 0, 1, 0),
    ("wc2", 4, 20.0, 20.5, 0, 0, 2),
    ("web3", 5, 15.0, 15.1, 3, 0, 0),
    ("wc3", 6, 10.0, 10.2, 0, 0, 0),
    ("w4", 6, 23.0, 23.2, 1, 0, 0),
    ("wc3", 9, 10.0, 10.1, 0, 0, 0),  # after the window: only makes wc3's day-6 contact a repeat
    ("old1", -2, 9.0, 9.1, 5, 0, 0),  # before the window: not counted
]
# tickets: name, sender, created (day, hour), state, resolution, closed (day, hour), csat, follow-up
TICKETS = [
    ("T1", "web1", (3, 12.2), "closed", "resolved", (3, 12.5), 5, False),
    ("T2", "web2", (1, 8.1), "closed", "resolved", (1, 8.3), 1, True),
    ("T3", "wc2", (4, 20.1), "closed", "resolved", (4, 20.5), 4, False),
    ("T4", "wc3", (6, 10.05), "queued", None, None, None, False),
    ("T5", "web3", (5, 15.02), "returned_to_bot", None, (5, 15.1), None, False),
    ("T0", "old1", (-2, 9.05), "closed", "resolved", (-2, 9.1), 2, False),  # before the window
]
FIRST_RESPONSE = {"T1": 180.0, "T3": 360.0}  # seconds from the ticket's creation to the first agent message
COMPLAINTS = {"T3"}  # the handoff reason: complaint; the others explicit_request
# feedback: sender, kind, value, channel, language, (day, hour)
FEEDBACK = [
    ("w1", "answer", 1, "wechat", "zh-Hans", (0, 10.05)),
    ("w1", "answer", 0, "wechat", "zh-Hans", (0, 10.06)),
    ("web3", "answer", 1, "socketio", "en", (5, 15.05)),
    ("w4", "answer", 1, "", "", (6, 23.1)),  # no channel / language of its own: the conversation's (wechat, en)
    ("w1", "bot_csat", 4, "wechat", "zh-Hans", (2, 9.2)),
    ("w4", "bot_csat", 2, "wechat", "en", (6, 23.2)),
    ("web1", "ces", 2, "socketio", "zh-Hans", (3, 12.6)),
    ("wc2", "ces", 5, "wechat", "zh-Hant", (4, 20.6)),
    ("old1", "bot_csat", 1, "wechat", "zh-Hans", (-2, 9.2)),  # before the window
    ("wc2", "ces", 1, "wechat", "zh-Hant", (8, 1.0)),  # after the window
]


def seed(console: Console) -> None:
    engine = engine_of(console)
    with Session(engine) as session:
        for sender, (channel, language, customer) in CONVERSATIONS.items():
            days = [c for c in CONTACTS if c[0] == sender]
            session.add(ConversationRow(sender_id=sender, channel=channel, language=language, customer_id=customer,
                                        verified_via="wechat" if customer else None,
                                        verified_at=at(days[0][1], days[0][2]) if customer else None,
                                        user_messages=3 * len(days), first_at=at(days[0][1], days[0][2]),
                                        last_at=at(days[-1][1], days[-1][3])))
        for sender, day, first, last, answered, clarify, no_answer in CONTACTS:
            session.add(ConversationDay(
                sender_id=sender, day=datetime.fromtimestamp(at(day, first), timezone.utc).strftime("%Y-%m-%d"),
                channel=CONVERSATIONS[sender][0], user_messages=3, faq_answered=answered, faq_clarify=clarify,
                faq_no_answer=no_answer, first_at=at(day, first), last_at=at(day, last)))
        ids: Dict[str, int] = {}
        for name, sender, created, state, resolution, closed, csat, _ in TICKETS:
            channel, language, customer = CONVERSATIONS[sender]
            ticket = Ticket(
                handoff_id=uuid.uuid4().hex, sender_id=sender, channel=channel, state=state, team="after_sales",
                category="after_sales", reason="complaint" if name in COMPLAINTS else "explicit_request",
                trigger="", priority=0, language=language,
                customer_json=json.dumps({"id": customer, "verified": bool(customer)}), summary=f"seeded {name}",
                created_at=at(*created), updated_at=at(*created), assigned_at=at(*created) if closed else None,
                closed_at=at(*closed) if closed else None, resolution=resolution, csat_rating=csat,
                csat_at=at(*closed) + 60 if csat else None,
                first_response_at=at(*created) + FIRST_RESPONSE[name] if name in FIRST_RESPONSE else None)
            session.add(ticket)
            session.flush()
            ids[name] = ticket.id
        for name, *_, follow_up in TICKETS:
            if follow_up:
                session.add(FollowUpRow(ticket_id=ids[name], reason="low_csat", rating=1,
                                        created_at=at(1, 8.4), note=""))
        for i, (sender, kind, value, channel, language, when) in enumerate(FEEDBACK):
            session.add(FeedbackRow(event_key=f"seed-{i}", sender_id=sender, kind=kind, value=value,
                                    entry_id="returns.seven_day" if kind == "answer" else None, question="",
                                    ticket_id=None, channel=channel, language=language, created_at=at(*when)))
        session.commit()
    engine.dispose()


def figures(conversations: int, handed_off: int, containment: Optional[float], faq: List[Any],
            answer: List[Any], bot_csat: List[Any], ces: List[Any], agent_csat: List[Any], fcr: List[Any],
            repeat: List[Any], follow_ups: int, first_response: List[Any], handle: List[Any],
            explicit: int, complaint: int) -> Dict[str, Any]:
    reasons = {r: 0 for r in REASONS}
    reasons.update(explicit_request=explicit, complaint=complaint)
    return {
        "conversations": conversations, "handed_off": handed_off, "containment_rate": containment,
        "faq": dict(zip(("answered", "clarify", "no_answer", "answer_rate"), faq, strict=True)),
        "answer_helpful": dict(zip(("votes", "helpful", "rate"), answer, strict=True)),
        "bot_csat": dict(zip(("average", "count"), bot_csat, strict=True)),
        "ces": dict(zip(("average", "count"), ces, strict=True)),
        "agent_csat": dict(zip(("average", "count"), agent_csat, strict=True)),
        "fcr": dict(zip(("tickets", "resolved_first", "rate"), fcr, strict=True)),
        "repeat_contact": dict(zip(("contacts", "repeated", "rate"), repeat, strict=True)),
        "follow_ups": follow_ups,
        "handoffs_by_reason": reasons,
        "first_response_seconds": dict(zip(("median", "count"), first_response, strict=True)),
        "handle_seconds": dict(zip(("median", "count"), handle, strict=True)),
    }


# Worked out by hand from the seed (window 2026-11-02 .. 11-08):
# contacts in the window: w1 d0, w1 d2, web2 d1, web1 d3, wc2 d4, web3 d5, wc3 d6, w4 d6 = 8
# tickets opened in it: T1 web1, T2 web2, T3 wc2, T4 wc3, T5 web3 = 5
# repeats (same customer, a later contact within 7 days of the last message):
#   w1 d0 -> w1 d2 yes; w1 d2 -> web1 d3 (both C1) yes; web2 d1 no; web1 d3 no (C1's other contacts are earlier);
#   wc2 d4 -> wc3 d6 (both C2) yes; web3 d5 no; wc3 d6 -> wc3 d9 (after the window, still counts) yes; w4 d6 no
# FCR over the finished tickets T1, T2, T3, T5: T1 yes (resolved, no follow-up, no later C1 ticket);
#   T2 no (follow-up); T3 no (C2's T4 two days after the close); T5 no (handed back to the bot)
# handle time (claimed -> closed): T1 0.3 h = 1080 s, T2 0.2 h = 720 s, T3 0.4 h = 1440 s, T5 0.08 h = 288 s;
# first response: T1 180 s, T3 360 s; reasons: T3 complaint, the other four explicit_request
OVERALL = figures(
    7, 5, 0.2857,  # senders w1 web1 web2 wc2 wc3 web3 w4; handed web1 web2 wc2 wc3 web3; (7 - 5) / 7
    [8, 1, 4, 0.6154],  # answered 2+1+1+3+1 = 8, clarify 1 (web1), no answer 1+1+2 = 4; 8 / 13
    [4, 3, 0.75],  # 👍 w1, web3, w4; 👎 w1: 3 / 4
    [3.0, 2],  # bot CSAT (4 + 2) / 2; old1's is before the window
    [3.5, 2],  # CES (2 + 5) / 2; wc2's second one is after the window
    [3.33, 3],  # agent CSAT T1 5, T2 1, T3 4: 10 / 3
    [4, 1, 0.25],  # FCR 1 / 4
    [8, 4, 0.5],  # repeats 4 / 8
    1,  # T2's follow-up
    [270.0, 2],  # first response median (180 + 360) / 2
    [900.0, 4],  # handle median of 288, 720, 1080, 1440: (720 + 1080) / 2
    4, 1,
)
BY_CHANNEL = {
    # wechat: w1 wc2 wc3 w4; contacts w1 d0, w1 d2, wc2 d4, wc3 d6, w4 d6; tickets T3 T4
    "wechat": figures(4, 2, 0.5,  # (4 - 2) / 4
                      [4, 0, 3, 0.5714],  # answered 2+1+1, no answer 1+2: 4 / 7
                      [3, 2, 0.6667],  # w1 👍 👎, w4 👍 (the conversation's channel): 2 / 3
                      [3.0, 2], [5.0, 1], [4.0, 1],  # bot CSAT (4+2)/2; CES wc2 5; agent CSAT T3 4
                      [1, 0, 0.0],  # T3 only, not resolved first
                      [5, 4, 0.8],  # w1 d0 yes, w1 d2 yes (web1 d3 on the web counts), wc2 yes, wc3 yes, w4 no
                      0, [360.0, 1], [1440.0, 1], 1, 1),  # T3; T4 explicit, T3 complaint
    # socketio: web1 web2 web3; contacts web2 d1, web1 d3, web3 d5; tickets T1 T2 T5
    "socketio": figures(3, 3, 0.0,
                        [4, 1, 1, 0.6667],  # answered 1+3, clarify 1, no answer 1: 4 / 6
                        [1, 1, 1.0], [None, 0], [2.0, 1], [3.0, 2],  # agent CSAT (5 + 1) / 2
                        [3, 1, 0.3333],  # T1 of T1 T2 T5
                        [3, 0, 0.0], 1,
                        [180.0, 1], [720.0, 3], 3, 0),  # T1's first response; handle 288, 720, 1080
}
BY_LANGUAGE = {
    # zh-Hans: w1 web1; contacts w1 d0, w1 d2, web1 d3; ticket T1
    "zh-Hans": figures(2, 1, 0.5, [3, 1, 1, 0.6], [2, 1, 0.5], [4.0, 1], [2.0, 1], [5.0, 1], [1, 1, 1.0],
                       [3, 2, 0.6667], 0, [180.0, 1], [1080.0, 1], 1, 0),
    # en: web2 web3 w4; contacts web2 d1, web3 d5, w4 d6; tickets T2 T5
    "en": figures(3, 2, 0.3333, [5, 0, 1, 0.8333], [2, 2, 1.0], [2.0, 1], [None, 0], [1.0, 1], [2, 0, 0.0],
                  [3, 0, 0.0], 1, [None, 0], [504.0, 2], 2, 0),  # handle (288 + 720) / 2
    # zh-Hant: wc2 wc3; contacts wc2 d4, wc3 d6; tickets T3 T4
    "zh-Hant": figures(2, 2, 0.0, [0, 0, 2, 0.0], [0, 0, None], [None, 0], [5.0, 1], [4.0, 1], [1, 0, 0.0],
                       [2, 2, 1.0], 0, [360.0, 1], [1440.0, 1], 1, 1),
}


def rows_by_key(data: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    return {row.pop("key"): row for row in data["breakdown"]["rows"]}


def test_dashboard_figures_match_the_hand_computed_values(db_console: Console) -> None:
    seed(db_console)
    admin = db_console.login("admin")
    data = admin.get(f"/api/metrics/dashboard?{RANGE}&by=channel").json()
    assert data["window"] == {"from": "2026-11-02T00:00:00.000Z", "to": "2026-11-09T00:00:00.000Z", "days": 7,
                              "first_day": "2026-11-02", "last_day": "2026-11-08"}
    assert data["measures"] == OVERALL
    assert (data["conversations"], data["handed_off"], data["containment_rate"]) == (7, 5, 0.2857)
    assert data["faq"] == OVERALL["faq"] and data["csat"]["average"] == 3.33 and data["csat"]["count"] == 3
    assert data["breakdown"]["by"] == "channel"
    assert [r["key"] for r in data["breakdown"]["rows"]] == ["wechat", "socketio"]  # the busiest first
    assert rows_by_key(data) == BY_CHANNEL
    by_language = admin.get(f"/api/metrics/dashboard?{RANGE}&by=language").json()
    assert by_language["measures"] == OVERALL and rows_by_key(by_language) == BY_LANGUAGE
    # the daily series covers the window only
    assert [d["date"] for d in data["daily"]] == [f"2026-11-0{d}" for d in range(2, 9)]
    # a one-day range: 2026-11-03 holds web2's contact and ticket only
    one = admin.get("/api/metrics/dashboard?from=2026-11-03&to=2026-11-03").json()
    assert one["measures"]["conversations"] == 1 and one["measures"]["fcr"] == {"tickets": 1, "resolved_first": 0,
                                                                              "rate": 0.0}
    assert one["window"]["days"] == 1
    # 2026-11-06 alone: T3 is not a first-contact resolution because of T4, opened after the range (day 6), and
    # wc2's contact repeats with wc3's on day 6: both read past the range's end
    later = admin.get("/api/metrics/dashboard?from=2026-11-06&to=2026-11-06").json()["measures"]
    assert later["fcr"] == {"tickets": 1, "resolved_first": 0, "rate": 0.0}
    assert later["repeat_contact"] == {"contacts": 1, "repeated": 1, "rate": 1.0}


def test_csv_export_of_the_measures(db_console: Console) -> None:
    seed(db_console)
    admin = db_console.login("admin")
    response = admin.get(f"/api/metrics/dashboard.csv?{RANGE}&by=language")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="kefu-service-2026-11-02-2026-11-08-language.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel opens it as UTF-8
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["language"] for r in rows] == ["all", "en", "zh-Hans", "zh-Hant"]
    first = rows[0]
    assert (first["from"], first["to"], first["conversations"], first["containment_rate"]) == \
        ("2026-11-02", "2026-11-08", "7", "0.2857")
    assert (first["fcr_rate"], first["repeat_contact_rate"], first["ces_average"], first["answer_helpful_rate"]) == \
        ("0.25", "0.5", "3.5", "0.75")
    assert rows[1]["ces_average"] == "" and rows[1]["agent_csat_average"] == "1.0"  # en: no CES, T2's 1
    assert db_console.login("wang").get(f"/api/metrics/dashboard.csv?{RANGE}").status_code == 403
    assert admin.get("/api/metrics/dashboard.csv?from=2026-11-09&to=2026-11-01").status_code == 400


def test_csv_cells_that_look_like_formulas_are_escaped(console: Console) -> None:
    engine = engine_of(console)
    with Session(engine) as session:
        now = datetime.now(timezone.utc)
        ts = now.timestamp()
        session.add(ConversationRow(sender_id="evil", channel="=HYPERLINK(\"http://x\")", language="en",
                                    user_messages=1, first_at=ts, last_at=ts))
        session.add(ConversationDay(sender_id="evil", day=now.strftime("%Y-%m-%d"), channel="-2+3",
                                    user_messages=1, first_at=ts, last_at=ts))
        session.commit()
    engine.dispose()
    text = console.login("admin").get("/api/metrics/dashboard.csv?days=1").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2][2] == "'=HYPERLINK(\"http://x\")"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    for raw, escaped in (("@SUM(A1)", "'@SUM(A1)"), ("+1", "'+1"), ("-1", "'-1"), ("微信", "微信"), (None, ""),
                         (0.25, "0.25")):
        assert csv_cell(raw) == escaped


def test_bad_ranges_get_a_clear_400(console: Console) -> None:
    admin = console.login("admin")
    for query, words in (("from=2026-11-09&to=2026-11-01", "after"), ("from=2026-13-01&to=2026-13-02", "real date"),
                         ("from=yesterday", "YYYY-MM-DD"), ("to=2026-1-5", "YYYY-MM-DD"),
                         ("from=2024-01-01&to=2026-01-01", "at most 366"), ("days=7&from=2026-11-01", "either"),
                         ("days=0", "between"), ("days=x", "integer"), ("days=91", "between"), ("by=team", "by must")):
        for path in ("/api/metrics/dashboard", "/api/metrics/dashboard.csv"):
            response = admin.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query, response.text)
            assert response.json()["error"] == "bad_request" and words in response.json()["message"], (query, response.text)
    assert admin.get("/api/metrics/dashboard?from=2025-11-09&to=2026-11-09").status_code == 200  # 366 days
    assert admin.get("/api/metrics/dashboard?from=2026-11-02").json()["window"]["last_day"] == "2026-11-08"
    assert admin.get("/api/metrics/dashboard?to=2026-11-08").json()["window"]["first_day"] == "2026-11-02"


def test_every_time_the_dashboard_sends_has_an_offset(tmp_path: Path, fake_rasa: FakeRasa) -> None:
    """Issue 27, defect 9: the unanswered list's ``last_seen`` came naive from SQLite and the browser read it as its
    own local time, 8 hours off in Beijing."""
    console = Console.create(tmp_path / "console", fake_rasa.url)
    store = UnansweredStore(console.env["KEFU_APP_DB_URL"])
    store.record(Record("宠物可以带进店里吗", "zh-Hans", "no_answer", []))
    store.dispose()
    console.start()
    try:
        ticket_id = console.handoff("tz-1")["ticket_id"]
        wang = console.login("wang")
        wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
        wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
        console.internal("/internal/csat", {"sender_id": "tz-1", "rating": 1}).raise_for_status()
        admin = console.login("admin")
        data = admin.get("/api/metrics/dashboard?days=1").json()
        (group,) = data["unanswered"]["groups"]
        times = [data["window"]["from"], data["window"]["to"], group["last_seen"]]
        followups = admin.get("/api/followups").json()["followups"]
        times += [followups[0]["created_at"], followups[0]["ticket"]["closed_at"]]
        for value in times:
            assert OFFSET.match(value), value
        seen = datetime.fromisoformat(group["last_seen"].replace("Z", "+00:00"))
        assert abs(seen.timestamp() - datetime.now(timezone.utc).timestamp()) < 3600  # UTC, not 8 h off
    finally:
        console.stop()


def closed_ticket(console: Console, sender: str) -> int:
    customer = {"id": f"C-{sender}", "name": "王*", "tier": "gold", "verified": True}
    ticket_id = console.handoff(sender, customer=customer)["ticket_id"]
    wang = console.login("wang")
    wang.post(f"/api/tickets/{ticket_id}/claim", json={}).raise_for_status()
    wang.post(f"/api/tickets/{ticket_id}/close", json={"resolution": "resolved"}).raise_for_status()
    return ticket_id


def test_a_low_rating_reopens_the_ticket_as_a_follow_up(db_console: Console) -> None:
    console, events = db_console, EventsTable(Path(db_console.env["KEFU_EVENTS_DB"]))
    low = closed_ticket(console, "fu-low")
    fine = closed_ticket(console, "fu-fine")
    typed = closed_ticket(console, "fu-typed")
    assert console.internal("/internal/csat", {"sender_id": "fu-low", "rating": 2}).status_code == 200
    assert console.internal("/internal/csat", {"sender_id": "fu-fine", "rating": 3}).status_code == 200
    events.user("fu-typed", "1分", intent="nlu_fallback", channel="wechat")  # a WeChat customer types the rating
    admin = console.login("admin")
    listing = console.wait_for(lambda: (lambda d: d if d["open"] == 2 else None)(admin.get("/api/followups").json()))
    assert listing, admin.get("/api/followups").json()
    assert [(f["ticket_id"], f["rating"], f["state"]) for f in listing["followups"]] == [(low, 2, "open"),
                                                                                       (typed, 1, "open")]
    item = listing["followups"][0]
    assert item["ticket"]["agent"] and item["ticket"]["resolution"] == "resolved" and item["reason"] == "low_csat"
    assert console.ticket(low)["state"] == "closed"  # the customer is not put back in the queue
    assert fine not in [f["ticket_id"] for f in listing["followups"]]
    # the same low rating again (the API and the events tail both deliver it): still one follow-up
    assert console.internal("/internal/csat", {"sender_id": "fu-low", "rating": 1}).status_code == 200
    assert admin.get("/api/followups").json()["open"] == 2
    # supervisors only, a note is required, done once
    wang = console.login("wang")
    assert wang.get("/api/followups").status_code == 403
    assert wang.post(f"/api/followups/{item['id']}/done", json={"note": "x"}).status_code == 403
    for body in ({}, {"note": "  "}, {"note": 5}, {"note": "长" * 2001}):
        response = admin.post(f"/api/followups/{item['id']}/done", json=body)
        assert response.status_code == 400 and response.json()["error"] == "bad_request", body
    assert admin.get("/api/followups").json()["open"] == 2  # the refusals changed nothing
    assert admin.post("/api/followups/999999/done", json={"note": "called"}).status_code == 404
    done = admin.post(f"/api/followups/{item['id']}/done", json={"note": "打电话道歉，补发了杯子"})
    assert done.status_code == 200, done.text
    assert done.json()["followup"]["state"] == "done" and done.json()["followup"]["done_by"]
    assert admin.post(f"/api/followups/{item['id']}/done", json={"note": "again"}).status_code == 400
    assert [f["ticket_id"] for f in admin.get("/api/followups").json()["followups"]] == [typed]
    assert [f["note"] for f in admin.get("/api/followups?state=done").json()["followups"]] == ["打电话道歉，补发了杯子"]
    assert admin.get("/api/followups?state=bogus").status_code == 400
    # the dashboard counts it and does not take the ticket as resolved on first contact
    measures = admin.get("/api/metrics/dashboard?days=1").json()["measures"]
    assert measures["follow_ups"] == 2 and measures["fcr"] == {"tickets": 3, "resolved_first": 1, "rate": 0.3333}


def test_the_follow_up_rating_is_checked() -> None:
    assert follow_up_rating({}) == 2
    assert follow_up_rating({"service": {"follow_up_rating": 0}}) == 0
    for bad in (6, -1, "2", True, 2.5):
        with pytest.raises(ValueError, match="follow_up_rating"):
            follow_up_rating({"service": {"follow_up_rating": bad}})
