"""A real Rasa server with the WeChat and WeCom channels, and the stand-in API as a process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest
import requests

from tests.stack import Stack, model_missing_reason

ROOT = Path(__file__).resolve().parents[2]

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
    # the slow-bot test: only openids starting with o_slow wait 6 s for the bot
    "KEFU_WECHAT_TEST_BOT_DELAY": "6",
    "KEFU_WECHAT_TEST_BOT_DELAY_FOR": "o_slow",
}

CREDENTIALS = """\
rest:

bot.channels.wechat.WeChatInput:
  token: ${WECHAT_TOKEN}
  appid: ${WECHAT_APPID}
  appsecret: ${WECHAT_APPSECRET}
  aes_key: ${WECHAT_AES_KEY}
  api_base: ${WECHAT_API_BASE}
  redis_url: ${KEFU_WECHAT_REDIS_URL}

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
    def __init__(self, workdir: Path) -> None:
        self.log = open(workdir / "standin.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/wechat/standin.py"), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("LISTENING "):
            self.proc.kill()
            raise RuntimeError(f"stand-in did not start: {line!r}")
        self.url = line.split()[1]

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
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInProcess]:
    server = StandInProcess(tmp_path_factory.mktemp("standin"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def wechat_stack(tmp_path_factory: pytest.TempPathFactory, standin: StandInProcess) -> Iterator[Stack]:
    reason = model_missing_reason()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("wechat_stack")
    credentials = workdir / "credentials.yml"
    credentials.write_text(CREDENTIALS, encoding="utf-8")
    stack = Stack.start(
        workdir, extra_env={**ENV, "WECHAT_API_BASE": standin.url, "KEFU_CREDENTIALS": str(credentials)}
    )
    try:
        yield stack
    finally:
        stack.stop()
