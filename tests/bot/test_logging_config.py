"""bot/logging-json.yml with Rasa's own logging set-up, in the order `rasa run` applies it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging, warnings
import rasa.utils.io
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

# rasa/__main__.py: the config file first, then coloredlogs, then structlog
configure_logging_and_warnings(None, "bot/logging-json.yml", warn_only_once=True, filter_repeated_logs=True)
rasa.utils.io.configure_colored_logging(None)
configure_structlog(None)

import structlog
from kernel.logs import conversation
import pytest

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env

logging.getLogger("rasa.core.processor").info("plain line, phone 13812345678")
with conversation("conv-rasa-1"):
    structlog.get_logger().info("rest.message.received", text="邮箱 zhang@example.com 电话 13912345678")
    logging.getLogger("bot.channels.rest").warning("inside the turn")
try:
    raise ValueError("id 110101199003071234")
except ValueError:
    logging.getLogger("rasa.server").exception("failed")
"""


def test_rasa_logs_only_json_masked_with_the_conversation() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "RASA_TELEMETRY_ENABLED": "false"})
    assert result.returncode == 0, result.stderr[-3000:]
    output = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    lines = [json.loads(line) for line in output]  # nothing but JSON: coloredlogs prints nothing
    plain, event, turn, failure = (
        next(x for x in lines if x["logger"] == "rasa.core.processor"),
        next(x for x in lines if x.get("message") == "rest.message.received"),
        next(x for x in lines if x["logger"] == "bot.channels.rest"),
        next(x for x in lines if x["logger"] == "rasa.server"),
    )
    assert plain["message"] == "plain line, phone 138****5678" and plain["service"] == "rasa"
    assert "conversation_id" not in plain
    assert event["conversation_id"] == "conv-rasa-1"
    assert event["event"]["text"] == "邮箱 z***@example.com 电话 139****5678"
    assert turn["conversation_id"] == "conv-rasa-1" and turn["level"] == "WARNING"
    assert "ValueError: id 110***********1234" in failure["exception"]
    joined = "\n".join(output)
    assert "13812345678" not in joined and "zhang@example.com" not in joined and "110101199003071234" not in joined
