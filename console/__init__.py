"""The handoff console (``python -m console``): tickets, live queue, agent API and metrics; only its own modules and tests import it (it talks to the bot over HTTP, imports the kernel and the knowledge base's API).

Module map: ``settings`` (env + config.yml), ``models`` (SQL tables), ``states`` (the ticket state machine,
a table), ``queueing`` (priority, queue position, wait, staffed hours, SLA), ``auth`` (passwords, sessions,
CSRF), ``accounts`` (agent accounts, ``python -m console users``), ``demo`` and ``seed`` (the demo logins:
data and seeding), ``tickets/`` (the ticket service: views, ingest, lifecycle; Rasa's HTTP API through
``kernel.rasa_client``), ``events_tail`` (Rasa's SQL event broker), ``live`` (SSE fan-out), ``dashboard`` and ``prometheus``
(metrics), ``unanswered`` (the knowledge base's unanswered questions), ``ratelimit`` (login limits),
``public_history`` (the widget's history), ``app`` (the Sanic app factory) and ``web/`` (its blueprints).
"""
