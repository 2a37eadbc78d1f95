"""The events tail and agent actions write the same ticket at once, on a real PostgreSQL.

CI once saw an agent's claim answer 500: the tail stored the broker's echo of the "agent joined"
message (INSERT message, then UPDATE ticket) while the claim updated the ticket and then inserted
the same message. Both waited for each other and PostgreSQL aborted the claim. Every writer of a
ticket's messages now locks the ticket row first, and a deadlock victim is retried.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from console.accounts import create_agent
from console.live import Hub
from console.models import Agent, Message, Ticket, create_schema, make_engine
from console.settings import load_settings
from console.tickets import TicketService
from kernel.handoff import parse_context
from kernel.rasa_client import RasaClient
from tests.console.process import FakeRasa, context


@pytest.fixture()
def pg_service(tmp_path: Path, fake_rasa: FakeRasa, pg_schema_url: str) -> Iterator[Tuple[TicketService, Agent]]:
    settings = load_settings({"KEFU_VAR_DIR": str(tmp_path), "KEFU_CONSOLE_DB_URL": pg_schema_url,
                              "KEFU_RASA_URL": fake_rasa.url, "KEFU_RASA_TOKEN": "t"})
    engine = make_engine(pg_schema_url)
    create_schema(engine)
    with Session(engine, expire_on_commit=False) as session:
        agent = create_agent(session, "wang", "小王", "agent", ["after_sales", "complaints"], "pw-123456")
        session.commit()
    try:
        yield TicketService(settings, engine, RasaClient(fake_rasa.url, "t"), Hub()), agent
    finally:
        engine.dispose()


def _open_ticket(service: TicketService, sender: str) -> int:
    payload, created, _status = service.ingest.create(parse_context(context(sender)))
    assert created
    return int(payload["id"])


def _waiting_backends(engine: sa.Engine) -> int:
    """Backends of this database that wait for a row or transaction lock right now."""
    with engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()")).scalar_one())


def _until(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    return condition()


def _echo(text: str, timestamp: float) -> Dict[str, Any]:
    return {"event": "bot", "text": text, "timestamp": timestamp,
            "data": {"custom": {"kefu_event": {"type": "agent_message", "agent": "小王"}}}}


def test_the_tail_locks_the_ticket_before_it_adds_a_message(pg_service: Tuple[TicketService, Agent]) -> None:
    service, _agent = pg_service
    sender = "lock-tail"
    ticket_id = _open_ticket(service, sender)
    with service.sessions() as tail, service.engine.connect() as other:
        assert service.ingest.attach_event(tail, sender, _echo("您好", time.time())) is not None
        # nothing flushed yet, and still the ticket is taken: no writer can slip in between
        with pytest.raises(OperationalError, match="could not obtain lock"):
            other.execute(sa.select(Ticket.id).where(Ticket.id == ticket_id).with_for_update(nowait=True))
        tail.rollback()


def test_an_agent_action_waits_for_the_tails_echo_instead_of_deadlocking(
        pg_service: Tuple[TicketService, Agent], fake_rasa: FakeRasa) -> None:
    """The tail holds the echo of the agent's reply, uncommitted; the reply's own write waits for it."""
    service, agent = pg_service
    sender = "lock-reply"
    ticket_id = _open_ticket(service, sender)
    asyncio.run(service.lifecycle.claim(agent, ticket_id))
    tail = service.sessions()
    echoed: List[Dict[str, Any]] = []
    original = service.rasa.append_events

    async def deliver_then_echo(sender_id: str, events: List[Dict[str, Any]], channel: Any = None) -> None:
        await original(sender_id, events, channel)
        for event in events:  # what the broker hands the tail as soon as Rasa stored it
            service.ingest.attach_event(tail, sender_id, event)  # not flushed: the lock must not wait for that
            echoed.append(event)

    service.rasa.append_events = deliver_then_echo  # type: ignore[method-assign]
    result: Dict[str, Any] = {}

    def reply() -> None:
        try:
            result["ok"] = asyncio.run(service.lifecycle.reply(agent, ticket_id, "收到，马上为您补发"))
        except Exception as error:  # noqa: BLE001 - the assertion below shows it
            result["error"] = error

    worker = threading.Thread(target=reply, daemon=True)
    try:
        worker.start()
        assert _until(lambda: _waiting_backends(service.engine)), "the reply never waited for the tail's row lock"
        tail.commit()
    finally:
        tail.close()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert "error" not in result, result
    assert echoed
    with service.sessions() as session:
        texts = session.scalars(sa.select(Message.text).where(Message.ticket_id == ticket_id)).all()
        authors = session.scalars(sa.select(Message.author).where(Message.text == "收到，马上为您补发")).all()
    assert texts.count("收到，马上为您补发") == 1, texts
    assert authors == ["agent"]  # the apply step updated the echoed row rather than adding its own
    assert [c["events"][0]["text"] for c in fake_rasa.calls][-1] == "收到，马上为您补发"


def test_a_deadlock_victim_is_retried(pg_service: Tuple[TicketService, Agent]) -> None:
    """A real PostgreSQL deadlock: the ticket action is the victim (it waited first) and runs again."""
    service, _agent = pg_service
    first, second = _open_ticket(service, "deadlock-a"), _open_ticket(service, "deadlock-b")
    other = service.sessions()
    if other.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
        other.execute(sa.text("SET LOCAL deadlock_timeout = '60s'"))  # never the one that detects the cycle
    other.execute(sa.update(Ticket).where(Ticket.id == second).values(summary="other writer"))  # holds `second`
    attempts: List[int] = []

    def apply(session: Session) -> Callable[[Session], Any]:
        attempts.append(len(attempts) + 1)
        session.execute(sa.update(Ticket).where(Ticket.id == first).values(summary="action"))
        if len(attempts) == 1:
            # waits for `other`; `other` then waits for us: PostgreSQL aborts the one whose deadlock check
            # runs first, ours (we wait first, and `other` waits half a second more and checks late)
            threading.Thread(target=lambda: (_until(lambda: _waiting_backends(service.engine)), time.sleep(0.5),
                                             other.execute(sa.update(Ticket).where(Ticket.id == first)
                                                           .values(summary="other writer")),
                                             other.commit()), daemon=True).start()
        session.execute(sa.update(Ticket).where(Ticket.id == second).values(priority=9))
        return lambda s: "done"

    try:
        assert service.lifecycle._commit(apply) == "done"
    finally:
        other.close()
    assert attempts == [1, 2]
    with service.sessions() as session:
        rows = {t.id: (t.summary, t.priority) for t in session.scalars(sa.select(Ticket))}
    assert rows[first][0] == "action" and rows[second][1] == 9
