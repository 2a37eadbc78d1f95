"""The handoff console: tickets, live queue, agent API and metrics (``python -m console``).

Module map: ``settings`` (env + config.yml), ``models`` (SQL tables), ``states``
(the ticket state machine), ``queueing`` (priority, queue position, wait, staffed
hours, SLA), ``auth`` (passwords, sessions, CSRF), ``context`` (the handoff
context the bot attaches), ``tickets`` (the ticket service), ``rasa_client``
(Rasa's HTTP API), ``events_tail`` (Rasa's SQL event broker), ``live`` (SSE
fan-out), ``dashboard`` and ``prometheus`` (metrics), ``app`` (HTTP routes).
"""
