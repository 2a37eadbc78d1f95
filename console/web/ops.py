"""Blueprint ``ops``: what operators and supervisors watch: ``/health`` (200 while the database answers, with
the events tail's state), ``/metrics`` (Prometheus), the dead-lettered events, the dashboard's numbers (and their CSV
export) and the follow-ups a low rating opened (console/tickets/followups.py)."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import datetime, timezone
from typing import Any, Dict

import sqlalchemy as sa
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse, raw

from console.dashboard import RangeError, dashboard, export_csv, parse_dimension, parse_window
from console.leads.metrics import outbox_counts
from console.models import DeadLetter
from console.queueing import iso
from console.tickets.followups import FollowUpRow, complete_follow_up, follow_up_rating, list_follow_ups
from console.unanswered import unanswered_groups
from console.web.guards import Guards
from console.web.parts import Parts
from console.web.protocol import ApiError, body_json, ok, query_limit


def blueprint(parts: Parts, guards: Guards) -> Blueprint:
    bp = Blueprint("ops")
    service, tail, metrics = parts.service, parts.tail, parts.metrics
    follow_up_rating(parts.settings.config)  # a malformed service.follow_up_rating stops the start, not a rating

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

    def _measures(request: Request) -> Dict[str, Any]:
        """The dashboard's numbers for the request's window (``days``, or ``from``/``to``) and breakdown (``by``)."""
        try:
            window = parse_window(time.time(), request.args.get("days"), request.args.get("from"),
                                  request.args.get("to"))
            by = parse_dimension(request.args.get("by"))
        except RangeError as error:
            raise ApiError(400, "bad_request", str(error)) from None
        return {"window": window, "by": by}

    @bp.get("/api/metrics/dashboard")
    @guards.agent(supervisor=True)
    async def dashboard_metrics(request: Request) -> HTTPResponse:
        asked = _measures(request)
        since_days = max(1, math.ceil((time.time() - asked["window"].start) / 86400))  # the list: since the start
        unanswered = await asyncio.to_thread(unanswered_groups, 20, since_days)
        with service.sessions() as session:
            return ok(dashboard(session, time.time(), asked["window"], unanswered, asked["by"]))

    @bp.get("/api/metrics/dashboard.csv")
    @guards.agent(supervisor=True)
    async def dashboard_export(request: Request) -> HTTPResponse:
        """The service measures as a CSV file (supervisors only; cells that look like formulas are escaped)."""
        asked = _measures(request)
        with service.sessions() as session:
            data = dashboard(session, time.time(), asked["window"], {"available": False, "groups": []}, asked["by"])
        name = f"kefu-service-{data['window']['first_day']}-{data['window']['last_day']}-{asked['by']}.csv"
        return raw(export_csv(data), content_type="text/csv; charset=utf-8",
                   headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    @bp.get("/api/followups")
    @guards.agent(supervisor=True)
    async def followups(request: Request) -> HTTPResponse:
        """Tickets a low rating reopened as follow-ups: ``state`` open (default, oldest first), done or all."""
        limit = query_limit(request, 50, 500)
        with service.sessions() as session:
            items = list_follow_ups(session, request.args.get("state") or "open", limit, iso)
            count = session.scalar(sa.select(sa.func.count()).select_from(FollowUpRow)
                                   .where(FollowUpRow.done_at.is_(None))) or 0
        return ok({"open": int(count), "followups": items})

    @bp.post("/api/followups/<follow_up_id:int>/done")
    @guards.agent(supervisor=True)
    async def followup_done(request: Request, follow_up_id: int) -> HTTPResponse:
        note = body_json(request).get("note")
        if not isinstance(note, str):
            raise ApiError(400, "bad_request", "note must be a text: say what was done for the customer")
        with service.sessions() as session:
            complete_follow_up(session, follow_up_id, request.ctx.agent.id, note, time.time())
            session.commit()
            (item,) = list_follow_ups(session, "all", 1, iso, follow_up_id)
        return ok({"followup": item})

    return bp
