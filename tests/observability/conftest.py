"""The console process fixtures, shared with tests/console."""

from tests.console.conftest import console, events, fake_rasa  # noqa: F401
