"""The console process fixtures, shared with tests/console (the handoff and action-metrics tests talk to a real console)."""

from tests.console.conftest import console, events, fake_rasa  # noqa: F401
