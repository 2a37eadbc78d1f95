"""Blueprint ``ops``: what operators and supervisors watch: ``/health`` (200 while the database answers, with
the events tail's state), ``/metrics`` (Prometheus), the dead-lettered events and the dashboard's numbers."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import sqlalchemy as sa
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from console.dashboard import dashboard
from console.leads.metrics import outbox_counts
from console.models import DeadLetter
from console.unanswered import unanswered_groups
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, ok, query_limit


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("ops")
    service, tail, metrics = parts.service, parts.tail, parts.metrics

    @bp.get("/health")
    async def health(_request: Request) -> HTTPResponse:
        db = "ok"
        try:
            with parts.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as error:
            db = f"error: {type(error).__name__}"
        st = tail.status
        tail_state, reasons = tail.health()
        metrics.tail_degraded.set(1 if tail_state != "ok" else 0)
        if db != "ok":
            reasons = [f"console database: {db}", *reasons]
        webhook = None
        if db == "ok":
            with service.sessions() as session:
                webhook = {**outbox_counts(session), "configured": parts.lead_sender is not None}
        body = {"status": "ok" if not reasons else "degraded", "reasons": reasons, "db": db,
                "events_tail": {"status": tail_state, "cursor": st.cursor, "running": st.running, "error": st.error,
                                "behind_seconds": round(time.time() - st.behind_since, 1) if st.behind_since else 0,
                                "dead_letters": st.dead_letters, "last_dead_letter": st.last_dead_letter,
                                "lag_seconds": round(time.time() - st.last_event_at, 1) if st.last_event_at else None},
                "lead_webhook": webhook}
        # 503 only when the console cannot serve at all (its database); a lagging tail keeps it in rotation
        return ok(body, status=200 if db == "ok" else 503)

    @bp.get("/metrics")
    async def prometheus_metrics(_request: Request) -> HTTPResponse:
        with service.sessions() as session:
            body, content_type = metrics.render(session, tail.status.last_event_at)
        return raw(body, content_type=content_type)

    @bp.get("/api/ops/dead-letters")
    @guards.agent(supervisor=True)
    async def dead_letters(request: Request) -> HTTPResponse:
        limit = query_limit(request, 50, 500)
        with service.sessions() as session:
            total = session.scalar(sa.select(sa.func.count()).select_from(DeadLetter)) or 0
            rows = session.scalars(sa.select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit))
            items = [{"id": r.id, "source": r.source, "event_id": r.event_id, "sender_id": r.sender_id,
                      "error": r.error, "tries": r.tries, "raw": r.raw[:20000],
                      "created_at": datetime.fromtimestamp(r.created_at, timezone.utc).isoformat()} for r in rows]
        return ok({"total": int(total), "dead_letters": items})

    @bp.get("/api/metrics/dashboard")
    @guards.agent(supervisor=True)
    async def dashboard_metrics(request: Request) -> HTTPResponse:
        try:
            days = int(request.args.get("days", 7))
        except ValueError:
            raise ApiError(400, "bad_request", "days must be an integer") from None
        if not 1 <= days <= 90:
            raise ApiError(400, "bad_request", "days must be between 1 and 90")
        unanswered = await asyncio.to_thread(unanswered_groups, 20, days)
        with service.sessions() as session:
            return ok(dashboard(session, time.time(), days, unanswered))

    return bp
