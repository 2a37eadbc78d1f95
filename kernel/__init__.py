"""Kefu's shared kernel: what every process uses (language and texts, logs and masking, settings and secrets, ids, the handoff contract); anyone may import it, it imports nothing else of Kefu.

It depends on the standard library and on packages both virtualenvs hold (PyYAML, OpenCC, redis), so it
runs unchanged in Rasa's Python 3.10 and in the app's Python 3.11. Modules:

- ``language``: language codes, script detection, normalisation; ``i18n``: the bot's texts in three languages
  (sources in ``bot/responses``);
- ``logs``: JSON logs, the one masking policy (``mask_id``, ``mask_ip``, personal data in messages);
- ``settings``: documented defaults and the shared secrets; ``secrets``: refuses published secrets outside demo mode;
- ``conversation_ids``, ``session_ids``: channel-scoped conversation ids and signed widget session ids;
- ``handoff``: the context the bot attaches to a ticket (reasons, categories, transcript), producer and consumer alike;
- ``text``: input cleaning (NUL, lone surrogates);
- ``rasa_client``: Rasa's HTTP API for the processes that append to conversations (the console's agent replies,
  the notifier's notices); it needs httpx, so only the app environment imports it.
"""

#: Kefu's version, the one place it is written (pyproject.toml reads it; webchat/package.json, the image tags in
#: docker-compose.yml and the newest CHANGELOG.md entry are checked against it by tests/deploy/test_packaging.py).
__version__ = "0.1.0"
