"""The console's Sanic app: the parts of one console process and the blueprints of console/web mounted on them.

API contract: docs/console-api.md; the routes, by job, are in console/web/ (auth, tickets, leads, internal,
public, ops, pages).
"""

from __future__ import annotations

from sanic import Sanic

from console.privacy.policy import load_policy
from console.privacy.schedule import run_daily
from console.privacy.service import Privacy
from console.privacy.stores import Locations
from console.settings import ROOT, Settings
from console.web import (
    admin,
    auth,
    customers,
    internal,
    leads,
    learning,
    ops,
    pages,
    parts,
    protocol,
    public,
    routing,
    search,
    tickets,
)
from console.web import privacy as privacy_web
from console.web import widget as widget_web
from console.web import widget_agents as widget_agents_web
from console.web.guards import Guards
from console.widget.uploads import UploadSettings


def create_app(settings: Settings, name: str = "kefu_console") -> Sanic:
    app = Sanic(name)
    app.config.REQUEST_MAX_SIZE = protocol.INTERNAL_MAX_BODY + 1024
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 1.0
    app.config.RESPONSE_TIMEOUT = 3600
    app.config.KEEP_ALIVE_TIMEOUT = 30

    held = parts.build(settings)
    uploads = UploadSettings.from_env(root=ROOT)  # the widget's photos and files (console/widget/uploads.py)
    widget_web.install(app, uploads)
    guards = Guards(held)
    app.ctx.parts = held
    privacy = Privacy(held.engine, Locations.from_env(settings.db_url, settings.events_db_url), load_policy())

    @app.before_server_start
    async def _start(app_: Sanic) -> None:
        parts.start(held)
        app_.add_task(held.tail.run(), name="events_tail")
        app_.add_task(held.service.directory.watch(), name="admin_directory")  # changes made with the CLI
        app_.add_task(held.routing.run(), name="assignment")  # presence and automatic assignment
        if held.lead_sender is not None:
            app_.add_task(held.lead_sender.run(), name="lead_webhook")
        if privacy.policy.schedule:  # the daily retention job (docs/privacy.md)
            app_.add_task(run_daily(privacy), name="privacy_retention")

    @app.before_server_stop
    async def _stop(_app: Sanic) -> None:
        await parts.stop(held)

    protocol.install(app)
    app.blueprint(auth.blueprint(held, guards))
    app.blueprint(tickets.blueprint(held, guards))
    app.blueprint(routing.blueprint(held, guards))
    app.blueprint(search.blueprint(held, guards))
    app.blueprint(admin.blueprint(held, guards))
    app.blueprint(internal.blueprint(held, guards))
    app.blueprint(leads.blueprint(held, guards))
    app.blueprint(customers.blueprint(held, guards))
    app.blueprint(public.blueprint(held))
    app.blueprint(ops.blueprint(held, guards))
    app.blueprint(learning.blueprint(guards))
    app.blueprint(pages.blueprint(guards))
    app.blueprint(privacy_web.blueprint(privacy, guards))
    app.blueprint(widget_web.blueprint(held, uploads))
    app.blueprint(widget_agents_web.blueprint(held, guards, uploads))
    return app
