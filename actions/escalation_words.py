"""The escalation word lists supervisors saved in the console, as the action server knows them.

actions/escalation.yml has the default keywords (``explicit_request``, ``complaint``) and complaint evidence words;
a supervisor may replace any of those lists on ``/admin`` or with ``python -m console escalation`` (the console's
``console_escalation_words`` table). This module keeps the last lists fetched from the console's
``GET /internal/escalation-words`` (service token) and ``actions.escalation.load_config`` merges them over the
YAML.

Nothing waits for the console: ``InstrumentedExecutor.run`` (actions/server.py) calls :meth:`Refresher.poke` on
every action call, which starts one background refresh when the lists are older than
``KEFU_ESCALATION_REFRESH_SECONDS`` (default 30; 0 switches fetching off: the YAML only) and never a second while
one runs; the action being called uses what is known. The console unreachable or answering something that is not
the expected body: the last known lists stay (after a start: the YAML's), one warning per outage, every failed
refresh counted in ``kefu_escalation_words_refresh_failures_total`` (actions/metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import httpx

from actions import metrics

log = logging.getLogger(__name__)

REFRESH_ENV = "KEFU_ESCALATION_REFRESH_SECONDS"
DEFAULT_REFRESH_SECONDS = 30.0
FETCH_TIMEOUT = 2.0
PATH = "/internal/escalation-words"
#: the lists the console may override (``trigger``, ``list``); as console/admin/escalation.py
LISTS: Tuple[Tuple[str, str], ...] = (("explicit_request", "keywords"), ("complaint", "keywords"),
                                      ("complaint", "evidence"))
MAX_WORD = 40
MAX_WORDS = 200
MAX_BODY = 256 * 1024


class BadBody(ValueError):
    pass


@dataclass(frozen=True, eq=False)
class Overrides:
    """The console's saved lists (``(trigger, list)`` -> words) and their version (a digest from the console)."""

    version: str
    lists: Mapping[Tuple[str, str], Tuple[str, ...]]


def parse_body(body: Any) -> Overrides:
    """The console's answer, checked: ``{"version": str, "overrides": {trigger: {list: [words]}}}``."""
    if not isinstance(body, dict):
        raise BadBody("not a JSON object")
    version = body.get("version")
    if not isinstance(version, str) or not version or len(version) > 128:
        raise BadBody("no version")
    raw = body.get("overrides")
    if not isinstance(raw, dict):
        raise BadBody("overrides is not an object")
    lists: Dict[Tuple[str, str], Tuple[str, ...]] = {}
    for trigger, spec in raw.items():
        if not isinstance(spec, dict):
            raise BadBody(f"overrides.{str(trigger)[:40]} is not an object")
        for name, words in spec.items():
            if (trigger, name) not in LISTS:
                raise BadBody(f"unknown list {str(trigger)[:40]}.{str(name)[:40]}")
            if not isinstance(words, list) or len(words) > MAX_WORDS or not all(
                    isinstance(w, str) and w.strip() and len(w.strip()) <= MAX_WORD for w in words):
                raise BadBody(f"{trigger}.{name} is not a list of at most {MAX_WORDS} words of 1-{MAX_WORD} characters")
            lists[(trigger, name)] = tuple(w.strip() for w in words)
    return Overrides(version, lists)


def refresh_seconds(env: Mapping[str, str] = os.environ) -> float:
    raw = env.get(REFRESH_ENV, "")
    if not raw.strip():
        return DEFAULT_REFRESH_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86400:
        log.warning("escalation_words.bad_setting %s=%r: using %s", REFRESH_ENV, raw[:40], DEFAULT_REFRESH_SECONDS)
        return DEFAULT_REFRESH_SECONDS
    return value


def _console() -> Tuple[str, str]:
    from actions.handoff import console_url, service_token  # late: actions.handoff imports actions.escalation

    return console_url(), service_token()


class Refresher:
    """The last known overrides and when they were fetched; at most one refresh at a time."""

    def __init__(self, interval: Optional[float] = None, where: Callable[[], Tuple[str, str]] = _console,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self.where = where
        self.clock = clock
        self.current: Optional[Overrides] = None  # None: nothing fetched yet, the YAML's lists
        self.fetched_at: Optional[float] = None  # when the last refresh ended (success or not)
        self.down = False  # in an outage (warned once)
        self.task: Optional[asyncio.Task[bool]] = None

    @property
    def interval(self) -> float:
        return refresh_seconds() if self._interval is None else self._interval

    def stale(self) -> bool:
        interval = self.interval
        if interval <= 0:
            return False  # fetching switched off: the YAML only
        return self.fetched_at is None or self.clock() - self.fetched_at >= interval

    def poke(self) -> Optional[asyncio.Task[bool]]:
        """From the running event loop: start a background refresh when the lists are stale and none runs.
        Returns the running refresh, if any; never raises, never waits."""
        try:
            if self.task is not None and not self.task.done():
                return self.task
            if not self.stale():
                return None
            self.task = asyncio.get_running_loop().create_task(self.refresh(), name="escalation-words-refresh")
            return self.task
        except Exception:  # pragma: no cover - a refresh must never cost an action its reply
            log.exception("escalation_words.poke_failed")
            return None

    async def refresh(self) -> bool:
        """Fetch the console's lists now; True when they were read. A failure keeps the last known lists."""
        try:
            url, token = self.where()
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT) as client:
                response = await client.get(f"{url}{PATH}", headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                return self._failed("status", f"HTTP {response.status_code}")
            if len(response.content) > MAX_BODY:
                return self._failed("bad_body", f"{len(response.content)} bytes")
            try:
                overrides = parse_body(response.json())
            except (ValueError, BadBody) as error:
                return self._failed("bad_body", str(error)[:200])
        except httpx.HTTPError as error:
            return self._failed("unreachable", type(error).__name__)
        except Exception as error:  # noqa: BLE001 - whatever happens, the actions go on with what is known
            return self._failed("unreachable", f"{type(error).__name__}: {str(error)[:200]}")
        finally:
            self.fetched_at = self.clock()
        if self.down:
            log.info("escalation_words.console_back version=%s", overrides.version)
            self.down = False
        elif self.current is None or self.current.version != overrides.version:
            log.info("escalation_words.loaded version=%s lists=%s", overrides.version,
                     ",".join(f"{t}.{n}" for t, n in sorted(overrides.lists)) or "none")
        self.current = overrides
        return True

    def _failed(self, kind: str, detail: str) -> bool:
        metrics.record_escalation_refresh_failure(kind)
        if not self.down:
            self.down = True
            kept = f"version {self.current.version}" if self.current else "actions/escalation.yml"
            log.warning("escalation_words.refresh_failed kind=%s detail=%s: keeping %s until the console answers",
                        kind, detail, kept)
        return False

    def forget(self) -> None:
        """Back to the start: the YAML's lists, nothing fetched (tests; a task still running is left to end)."""
        self.current = None
        self.fetched_at = None
        self.down = False
        self.task = None


#: the action server's refresher (one per process)
REFRESHER = Refresher()


def current() -> Optional[Overrides]:
    return REFRESHER.current
