"""The console's HTTP layer: one Sanic blueprint per job (auth, tickets, internal, public, ops, pages) over the parts of :mod:`console.web.parts`; only console.app imports it.

API contract: docs/console-api.md. Modules: ``parts`` (the services one console process holds, startup and
shutdown), ``protocol`` (JSON in and out, error bodies, headers), ``guards`` (agent sessions, CSRF, the service
token), ``files`` (pages and static files); the blueprints ``auth``, ``tickets`` (the agent UI's API and live
stream), ``internal`` (the action server's API), ``public`` (what the widget and the demo shop fetch), ``ops``
(health, metrics, dead letters, the supervisor dashboard's data) and ``pages`` (the console's HTML pages).
"""
