"""Fixtures: a console process on a free port, its events table and a recording stand-in for Rasa."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.console.process import Console, EventsTable, FakeRasa


@pytest.fixture()
def fake_rasa() -> Iterator[FakeRasa]:
    rasa = FakeRasa()
    yield rasa
    rasa.close()


@pytest.fixture()
def console(tmp_path: Path, fake_rasa: FakeRasa) -> Iterator[Console]:
    proc = Console.create(tmp_path / "console", fake_rasa.url).start()
    yield proc
    proc.stop()


@pytest.fixture()
def events(console: Console) -> EventsTable:
    return EventsTable(Path(console.env["KEFU_EVENTS_DB"]))
