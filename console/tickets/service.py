"""The ticket service: one store and the three jobs over it, built once per console process."""

from __future__ import annotations

import time
from typing import Callable

import sqlalchemy as sa

from console.admin.directory import Directory
from console.leads import LeadStore
from console.live import Hub
from console.queueing import StaffedHours
from console.settings import Settings, load_canned
from console.tickets.core import TicketStore
from console.tickets.ingest import TicketIngest
from console.tickets.lifecycle import TicketLifecycle
from console.tickets.views import TicketViews
from kernel.rasa_client import RasaClient


class TicketService:
    """``views`` (what the API and the live stream show), ``ingest`` (handoffs, messages and ratings from the
    bot's side) and ``lifecycle`` (what agents do), sharing one ``store``; ``leads`` (console.leads) holds the
    presales leads that come with handoffs; ``directory`` (console.admin) the current teams, routing, team hours and
    canned responses (``directory.load()`` reads them once the schema exists)."""

    def __init__(self, settings: Settings, engine: sa.Engine, rasa: RasaClient, hub: Hub,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = TicketStore(settings, engine, hub, clock)
        self.directory = Directory(self.store.sessions, settings.config, load_canned, clock)
        self.store.directory = self.directory
        self.leads = LeadStore(self.store.sessions, clock, StaffedHours.from_config(self.store.config["staffed_hours"]))
        self.views = TicketViews(self.store, self.leads)
        self.ingest = TicketIngest(self.store, self.views, self.leads)
        self.lifecycle = TicketLifecycle(self.store, self.views, rasa)
        self.settings, self.engine, self.sessions, self.rasa, self.hub = settings, engine, self.store.sessions, rasa, hub
