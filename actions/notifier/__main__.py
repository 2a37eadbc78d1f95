"""``python -m actions.notifier``: the notifier process (``make run``, docker-compose and Kubernetes start it).

Every ``KEFU_NOTIFIER_INTERVAL`` seconds (default 30) it runs one pass (:mod:`actions.notifier.service`).
Several replicas are safe: each notice is claimed in the shared ledger (``KEFU_APP_DB_URL``) before it is sent.
``GET /health`` on ``KEFU_NOTIFIER_PORT`` (default 5056) answers ``{"status": "ok", ...}`` with the last pass's
report and the notices by state.

    python -m actions.notifier            # serve until SIGTERM / Ctrl-C
    python -m actions.notifier --once     # one pass, its report as JSON on stdout (cron, tests); exit 1 on errors

Settings: ``KEFU_RASA_URL`` and ``KEFU_RASA_TOKEN`` (Rasa's HTTP API), the store (``KEFU_STORE_*``, as the action
server), ``KEFU_APP_DB_URL`` (default ``sqlite:///var/kefu_app.db``), ``KEFU_NOTIFIER_INTERVAL``,
``KEFU_NOTIFIER_PORT``, ``KEFU_NOTIFIER_RETRY_SECONDS`` (default 300: when a held notice is looked at again),
``KEFU_HOST``. docs/notices.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import sys
from datetime import timedelta
from typing import Any, Dict, Mapping, Optional

log = logging.getLogger("kefu.notifier")

DEFAULT_INTERVAL = 30.0
DEFAULT_PORT = 5056
#: how long a held notice (WeChat's window closed) waits before it is looked at again
DEFAULT_RETRY = 300.0


class SettingsError(ValueError):
    pass


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g} seconds")
    return value


def _interval(env: Mapping[str, str]) -> float:
    return _seconds(env, "KEFU_NOTIFIER_INTERVAL", DEFAULT_INTERVAL, 0.2, 3600)


def _settings(env: Mapping[str, str]):  # noqa: ANN202 - a NotifierSettings
    from actions.notifier.service import NotifierSettings

    retry = _seconds(env, "KEFU_NOTIFIER_RETRY_SECONDS", DEFAULT_RETRY, 0.2, 86400)
    return NotifierSettings(held_retry=timedelta(seconds=retry), error_retry=timedelta(seconds=min(retry, 60)))


def _port(env: Mapping[str, str]) -> int:
    raw = (env.get("KEFU_NOTIFIER_PORT") or str(DEFAULT_PORT)).strip()
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"KEFU_NOTIFIER_PORT must be a TCP port, not {raw!r}")
    return int(raw)


class Health:
    """A minimal HTTP/1.1 responder: ``GET /health`` → the state as JSON, anything else 404."""

    def __init__(self, state: Dict[str, Any]) -> None:
        self.state = state

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5)
            while (await asyncio.wait_for(reader.readline(), timeout=5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.decode("latin-1").split()
            ok = len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/health"
            body = json.dumps({"status": "ok", **self.state} if ok else {"error": "not found"}).encode()
            status = "200 OK" if ok else "404 Not Found"
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                         f"Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()


def build(env: Mapping[str, str]):  # noqa: ANN201 - a Notifier
    from actions.notifier.ledger import DEFAULT_DB_URL, Ledger
    from actions.notifier.service import Notifier
    from actions.store.factory import create_store
    from kernel.rasa_client import RasaClient

    rasa_url = env.get("KEFU_RASA_URL") or f"http://{env.get('KEFU_HOST', '127.0.0.1')}:{env.get('KEFU_RASA_PORT', '5005')}"
    owner = f"{socket.gethostname()}:{os.getpid()}"
    ledger = Ledger(env.get("KEFU_APP_DB_URL") or DEFAULT_DB_URL, owner)
    return Notifier(create_store(env), ledger, RasaClient(rasa_url, env.get("KEFU_RASA_TOKEN", "")), _settings(env))


async def serve(env: Mapping[str, str], interval: float, port: int) -> int:
    notifier = build(env)
    state: Dict[str, Any] = {"passes": 0, "last": None, "notices": {}}
    server = await asyncio.start_server(Health(state).handle, env.get("KEFU_HOST", "127.0.0.1"), port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("notifier running: a pass every %.1f s, health on port %s", interval, port)
    try:
        while not stop.is_set():
            report = await notifier.tick()
            state["passes"] += 1
            state["last"] = report.to_json()
            try:
                state["notices"] = await asyncio.to_thread(notifier.ledger.counts)
            except Exception as error:  # noqa: BLE001 - the health endpoint reports, never dies
                state["notices"] = {"error": type(error).__name__}
            if report.sent or report.held or report.failed or report.cancelled or report.errors:
                log.info("notifier pass: %s", json.dumps(report.to_json(), ensure_ascii=False))
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
    finally:
        server.close()
        await notifier.rasa.close()
        notifier.ledger.close()
    return 0


async def once(env: Mapping[str, str]) -> int:
    notifier = build(env)
    try:
        report = await notifier.tick()
    finally:
        await notifier.rasa.close()
        notifier.ledger.close()
    print(json.dumps(report.to_json(), ensure_ascii=False))
    return 1 if report.errors else 0


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.notifier", description=__doc__.split("\n")[0])
    parser.add_argument("--once", action="store_true", help="run one pass, print its report, exit")
    args = parser.parse_args(argv)
    from kernel.logs import configure
    from kernel.secrets import enforce

    enforce("notifier")
    configure(service="notifier")
    env = dict(os.environ)
    try:
        interval, port = _interval(env), _port(env)
        _settings(env)
    except SettingsError as error:
        print(f"kefu notifier: {error}", file=sys.stderr)
        return 78
    from actions.notifier.ledger import LedgerUnavailable

    try:
        return asyncio.run(once(env) if args.once else serve(env, interval, port))
    except LedgerUnavailable as error:
        print(f"kefu notifier: {error}", file=sys.stderr)
        return 69


if __name__ == "__main__":
    sys.exit(main())
