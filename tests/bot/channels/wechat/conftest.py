"""A real Rasa server with the WeChat and WeCom channels, and the stand-in API as a process."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests

from tests.harness import ROOT, Command, HttpReady, ServerProcess, environ_without, free_port
from tests.stack import Stack, model_missing_reason

# The Official Account token is the one of WeChat's published signature example.
ENV: Dict[str, str] = {
    "WECHAT_TOKEN": "AAAAA",
    "WECHAT_APPID": "wx_standin_appid",
    "WECHAT_APPSECRET": "standin-app-secret",
    "WECHAT_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "WECOM_CORP_ID": "ww_standin_corp",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "standin-corp-secret",
    "WECOM_TOKEN": "wecomtoken",
    "WECOM_AES_KEY": "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut",
    "KEFU_WECHAT_REDIS_URL": "",
}

CREDENTIALS = """\
rest:

# the product's WeChatInput with a slow bot for the slow-bot test: only openids starting with
# o_slow wait 6 s for the bot (tests/bot/channels/wechat/slow_channel.py)
tests.bot.channels.wechat.slow_channel.SlowWeChatInput:
  token: ${WECHAT_TOKEN}
  appid: ${WECHAT_APPID}
  appsecret: ${WECHAT_APPSECRET}
  aes_key: ${WECHAT_AES_KEY}
  api_base: ${WECHAT_API_BASE}
  redis_url: ${KEFU_WECHAT_REDIS_URL}
  bot_delay: 6
  bot_delay_for: o_slow

bot.channels.wechat.WeComInput:
  corp_id: ${WECOM_CORP_ID}
  agent_id: ${WECOM_AGENT_ID}
  secret: ${WECOM_SECRET}
  token: ${WECOM_TOKEN}
  aes_key: ${WECOM_AES_KEY}
  api_base: ${WECHAT_API_BASE}
  redis_url: ${KEFU_WECHAT_REDIS_URL}
"""


class StandInProcess:
    """The stand-in API (tests/bot/channels/wechat/standin.py) as a process on a free port, started and
    stopped through tests/harness.py; its output goes to ``workdir/standin.log``."""

    def __init__(self, workdir: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        command = Command(
            "wechat stand-in",
            [sys.executable, str(ROOT / "tests/bot/channels/wechat/standin.py"), "--port", str(port)],
            environ_without(),
            HttpReady(f"{self.url}/_standin/health", below=300),
            cwd=ROOT,
        )
        self.process = ServerProcess.start(command, workdir / "standin.log")
        try:
            self.process.wait_ready()
        except BaseException:
            self.process.stop(grace=10)
            raise

    def sent(self, touser: str | None = None) -> list:
        items = requests.get(f"{self.url}/_standin/sent", timeout=5).json()
        return [m for m in items if touser is None or m["touser"] == touser]

    def calls(self, path: str | None = None) -> list:
        items = requests.get(f"{self.url}/_standin/calls", timeout=5).json()
        return [c for c in items if path is None or c["path"] == path]

    def wait_sent(self, touser: str, count: int = 1, timeout: float = 90.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.sent(touser)
            if len(items) >= count:
                return items
            time.sleep(0.25)
        return self.sent(touser)

    def stop(self) -> None:
        self.process.stop(grace=10)


def running_standin(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[StandInProcess]:
    """The stand-in API as a process, for a fixture of any scope: ``yield from running_standin(...)``."""
    server = StandInProcess(tmp_path_factory.mktemp(name))
    yield server
    server.stop()


def running_wechat_stack(workdir: Path, standin: StandInProcess, extra_env: Optional[Dict[str, str]] = None,
                         only: Optional[List[str]] = None, credentials: bool = True) -> Iterator[Stack]:
    """Rasa (+ the action server) with the WeChat/WeCom settings of :data:`ENV` talking to ``standin``; with
    ``credentials`` the channels of :data:`CREDENTIALS`. Skips when there is no trained model."""
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    env = {**ENV, "WECHAT_API_BASE": standin.url}
    if credentials:
        path = workdir / "credentials.yml"
        path.write_text(CREDENTIALS, encoding="utf-8")
        env["KEFU_CREDENTIALS"] = str(path)
    stack = Stack.start(workdir, extra_env={**env, **(extra_env or {})}, only=only)
    try:
        yield stack
    finally:
        stack.stop()


# Module scope: the stack's one user is test_conformance.py, and a session-scoped stack held its 2 GB until the end
# of the session.
@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    yield from running_standin(tmp_path_factory, "standin")


@pytest.fixture(scope="module")
def wechat_stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    yield from running_wechat_stack(tmp_path_factory.mktemp("wechat_stack"), standin)
