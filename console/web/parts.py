"""The parts one console process holds (database, ticket service, live hub, events tail, Rasa client, metrics,
login limits, the lead webhook sender), built from the settings; what starts with the server and what stops with it."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa

from console import auth
from console.admin.service import AdminService
from console.demo import load_demo_accounts
from console.events_tail import EventsTail
from console.leads.sender import LeadWebhookSender, WebhookConfig
from console.live import Hub
from console.models import create_schema, make_engine
from console.prometheus import ConsoleMetrics
from console.ratelimit import LoginLimits
from console.routing.presence import RoutingSettings
from console.routing.service import RoutingService
from console.search.index import backfill as backfill_search_keys
from console.seed import apply_demo_flag
from console.settings import Settings
from console.tickets import TicketService
from kernel.rasa_client import RasaClient

log = logging.getLogger("kefu.console")


@dataclass
class Parts:
    settings: Settings
    engine: sa.Engine
    hub: Hub
    rasa: RasaClient
    service: TicketService
    metrics: ConsoleMetrics
    tail: EventsTail
    limits: LoginLimits
    #: scrypt runs here, off the event loop; two workers: a login flood queues here instead of taking every core
    hasher: ThreadPoolExecutor
    #: the administration (agents, teams, canned responses; console/admin/service.py)
    admin: AdminService
    #: presence and automatic assignment (console/routing)
    routing: RoutingService
    #: the lead webhook's sender; None when no URL is configured (the outbox keeps the events)
    lead_sender: Optional[LeadWebhookSender] = None


def build(settings: Settings) -> Parts:
    engine = make_engine(settings.db_url)
    hub = Hub()
    rasa = RasaClient(settings.rasa_url, settings.rasa_token)
    service = TicketService(settings, engine, rasa, hub)
    metrics = ConsoleMetrics(lambda: settings.teams, settings.config, hours_for=service.store.hours)
    tail = EventsTail(settings.events_db_url, service, settings.tail_interval,
                      on_batch=lambda n: metrics.tailed.inc(n), max_tries=settings.tail_max_tries,
                      lag_seconds=settings.tail_lag_seconds, dead_letter_window=settings.dead_letter_window,
                      on_dead_letter=metrics.dead_letters.inc)
    limits = LoginLimits(settings.login_ip_limit, settings.login_user_limit, settings.login_window,
                         settings.redis_url)
    hasher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kefu-scrypt")
    sender = None
    if settings.lead_webhook_url:
        sender = LeadWebhookSender(service.sessions, WebhookConfig.from_config(
            settings.config["presales"]["webhook"], settings.lead_webhook_url, settings.lead_webhook_secret))
    admin = AdminService(service.sessions, service.directory, settings.config)
    routing = RoutingService(service.store, service.views, service.lifecycle,
                             RoutingSettings.from_config(settings.config.get("assignment")))
    return Parts(settings, engine, hub, rasa, service, metrics, tail, limits, hasher, admin, routing, sender)


def start(parts: Parts) -> None:
    """Before the server starts: the schema, the hub on this loop, the demo accounts as the flag says,
    the dummy hash (the first login is not slower for unknown users), the dead-letter state after a restart."""
    create_schema(parts.engine)
    parts.service.directory.load()  # the teams and canned responses: seeded once from the YAML, then the database's
    backfill_search_keys(parts.service.sessions)  # once: the search keys of tickets older than search
    parts.hub.bind(asyncio.get_running_loop())
    with parts.service.sessions() as session:
        apply_demo_flag(session, parts.settings.demo_accounts, load_demo_accounts())
    auth.dummy_hash()
    parts.tail.load_dead_letter_state()


async def stop(parts: Parts) -> None:
    parts.tail.stop()
    parts.routing.stop()
    if parts.lead_sender is not None:
        parts.lead_sender.stop()
    await parts.rasa.close()
    parts.hasher.shutdown(wait=False, cancel_futures=True)
