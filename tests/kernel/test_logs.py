"""kernel.logs: masking, the JSON formatter, the conversation id, and the Rasa logging config file."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from kernel.logs import (
    CONVERSATION_ID,
    DropAll,
    JsonFormatter,
    JsonStreamHandler,
    MaskingFilter,
    configure,
    conversation,
    log_format,
    mask_message,
    mask_personal_data,
    pseudonym,
)

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------
# masking
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("手机13812345678", "手机138****5678"),
        ("call +86 138-1234-5678 now", "call 138****5678 now"),
        ("0086 13912345678", "139****5678"),
        ("138 1234 5678", "138****5678"),
        ("tel:15900001111,", "tel:159****1111,"),
        ("mail zhang.san+shop@example.com.cn ok", "mail z***@example.com.cn ok"),
        ("身份证号11010119900307123X，", "身份证号110***********123X，"),
        ("身份证 110101199003071234", "身份证 110***********1234"),
        ("card 6222021234567890123", "card 622************0123"),
        ("account 123456789", "account 123****89"),
        ("😀13812345678😀", "😀138****5678😀"),
    ],
)
def test_personal_data_is_masked(raw: str, masked: str) -> None:
    assert mask_personal_data(raw) == masked


@pytest.mark.parametrize(
    "text",
    [
        "order KF20240501001 shipped",  # order numbers stay readable
        "listening on 0.0.0.0:5055 pid 12345",
        "event at 1714036504.123",  # timestamps with a fraction stay readable
        "12345678 is only eight digits",
        "phone suffix 5678",
        "",
        "<script>alert(1)</script>'; DROP TABLE orders; --",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_personal_data(text) == text


def test_masking_is_idempotent() -> None:
    text = "13812345678 a.b@example.com 110101199003071234 6222021234567890123"
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once
    assert "13812345678" not in once and "a.b@" not in once and "1990030712" not in once


def test_json_message_stays_valid_json_when_masked() -> None:
    raw = json.dumps({"event": "rest.message.received", "text": "我的电话13812345678", "n": 1714036504})
    masked = json.loads(mask_message(raw))
    assert masked == {"event": "rest.message.received", "text": "我的电话138****5678", "n": 1714036504}


def test_huge_message_is_masked_in_one_pass() -> None:
    text = ("13812345678 " * 20000).strip()
    masked = mask_personal_data(text)
    assert masked.count("138****5678") == 20000


# --------------------------------------------------------------------------
# formatter, filter, handler
# --------------------------------------------------------------------------


@pytest.fixture()
def capture() -> Iterator[tuple]:
    """A logger whose records go through MaskingFilter and JsonFormatter into a string buffer."""
    stream = io.StringIO()
    handler = JsonStreamHandler(stream)
    handler.setFormatter(JsonFormatter(service="test"))
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("kefu.test.logging_json")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.handlers = []
    logger.propagate = True


def lines(stream: io.StringIO) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_line_has_the_fields_and_masks_args(capture: tuple) -> None:
    logger, stream = capture
    logger.info("customer %s wrote from %s", "13812345678", "li@example.com")
    [line] = lines(stream)
    assert line["level"] == "INFO" and line["logger"] == "kefu.test.logging_json" and line["service"] == "test"
    assert line["message"] == "customer 138****5678 wrote from l***@example.com"
    assert line["timestamp"].endswith("+00:00") and "T" in line["timestamp"]
    assert "conversation_id" not in line


def test_conversation_id_from_the_context_and_from_extra(capture: tuple) -> None:
    logger, stream = capture
    with conversation("sender-42"):
        logger.info("inside")
        with conversation("sender-43"):
            logger.info("nested")
        logger.info("back")
    logger.info("outside")
    logger.info("explicit", extra={"conversation_id": "sender-44", "order_id": "KF20240501001"})
    got = lines(stream)
    assert [g.get("conversation_id") for g in got] == ["sender-42", "sender-43", "sender-42", None, "sender-44"]
    assert got[-1]["order_id"] == "KF20240501001"


def test_conversation_id_is_per_task() -> None:
    seen: Dict[str, Any] = {}

    async def turn(sender: str) -> None:
        with conversation(sender):
            await asyncio.sleep(0.01)
            seen[sender] = CONVERSATION_ID.get()

    async def main() -> None:
        await asyncio.gather(turn("a"), turn("b"), turn("c"))

    asyncio.run(main())
    assert seen == {"a": "a", "b": "b", "c": "c"}
    assert CONVERSATION_ID.get() is None


def test_hash_mode_logs_a_stable_pseudonym() -> None:
    formatter = JsonFormatter(conversation_id_mode="hash")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hi", None, None)
    with conversation("secret-session-id-0123456789"):
        line = json.loads(formatter.format(record))
    assert line["conversation_id"] == pseudonym("secret-session-id-0123456789")
    assert line["conversation_id"].startswith("c-") and "secret" not in json.dumps(line)
    with pytest.raises(ValueError):
        JsonFormatter(conversation_id_mode="plain")


def test_exception_and_stack_are_masked(capture: tuple) -> None:
    logger, stream = capture
    try:
        raise RuntimeError("store refused phone 13812345678")
    except RuntimeError:
        logger.exception("lookup failed for 110101199003071234")
    logger.info("where", stack_info=True)
    first, second = lines(stream)
    assert first["message"] == "lookup failed for 110***********1234"
    assert "RuntimeError: store refused phone 138****5678" in first["exception"]
    assert "13812345678" not in json.dumps(first)
    assert "stack" in second


def test_structlog_event_becomes_an_object(capture: tuple) -> None:
    logger, stream = capture
    logger.info(json.dumps({"event": "rest.message.received", "text": "邮箱 wang@example.com", "level": "info"}))
    [line] = lines(stream)
    assert line["message"] == "rest.message.received"
    assert line["event"]["text"] == "邮箱 w***@example.com"


def test_broken_format_arguments_never_raise(capture: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    logger, stream = capture
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production: report, do not raise
    logger.info("two %s %s", "args?")  # TypeError inside logging: must not reach the caller
    logger.info("odd value %s", object())
    logger.info("bytes %r", b"\xff\x00")
    assert any("odd value <object" in line["message"] for line in lines(stream))


def test_extra_values_that_are_not_json_become_text(capture: tuple) -> None:
    logger, stream = capture
    logger.info("with extra", extra={"thing": {1, 2}, "phone": "13812345678"})
    [line] = lines(stream)
    assert line["thing"] == "{1, 2}" and line["phone"] == "138****5678"


def test_masking_filter_rewrites_the_record_for_every_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s", ("13812345678",), None)
    assert MaskingFilter().filter(record) is True
    assert record.getMessage() == "call 138****5678"
    assert DropAll().filter(record) is False


def test_json_handler_is_not_a_stream_handler() -> None:
    # coloredlogs (installed by Rasa and rasa-sdk) replaces StreamHandlers on stderr; ours must survive
    assert not isinstance(JsonStreamHandler(), logging.StreamHandler)


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


def test_log_format_from_the_environment() -> None:
    assert log_format({}) == "text"
    assert log_format({"KEFU_LOG_FORMAT": " JSON "}) == "json"
    with pytest.raises(ValueError, match="KEFU_LOG_FORMAT"):
        log_format({"KEFU_LOG_FORMAT": "xml"})


def test_configure_installs_one_masked_handler() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        stream = io.StringIO()
        configure("json", logging.INFO, service="unit", stream=stream)
        configure("json", logging.INFO, service="unit", stream=stream)  # idempotent: still one handler
        assert len(root.handlers) == 1
        logging.getLogger("kefu.test.configure").info("hello 13812345678")
        [line] = [json.loads(x) for x in stream.getvalue().splitlines() if "kefu.test.configure" in x]
        assert line["message"] == "hello 138****5678" and line["service"] == "unit"
        text = io.StringIO()
        configure("text", logging.INFO, stream=text)
        logging.getLogger("kefu.test.configure").info("mail a@b.cn")
        assert "mail a***@b.cn" in text.getvalue() and not text.getvalue().startswith("{")
    finally:
        root.handlers = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_rasa_logging_file_survives_coloredlogs() -> None:
    """bot/logging-json.yml, then coloredlogs.install() as Rasa does: only JSON lines come out."""
    result = run_python(
        "import logging, logging.config, warnings, yaml, coloredlogs\n"
        "logging.config.dictConfig(yaml.safe_load(open('bot/logging-json.yml')))\n"
        "coloredlogs.install(level='INFO', fmt='%(asctime)s %(levelname)-8s %(name)s  - %(message)s')\n"
        "from kernel.logs import conversation\n"
        "with conversation('conv-7'):\n"
        "    logging.getLogger('rasa.core.processor').info('user 13812345678 said hi')\n"
        "logging.getLogger('bot.channels.rest').warning('no conversation here')\n"
        "warnings.warn('careful')\n"
    )
    assert result.returncode == 0, result.stderr
    output = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    parsed = [json.loads(line) for line in output]  # every line is JSON: coloredlogs prints nothing
    assert parsed[0]["message"] == "user 138****5678 said hi" and parsed[0]["conversation_id"] == "conv-7"
    assert parsed[0]["service"] == "rasa"
    assert parsed[1]["logger"] == "bot.channels.rest" and "conversation_id" not in parsed[1]
    assert parsed[2]["logger"] == "py.warnings" and "careful" in parsed[2]["message"]
    assert len(parsed) == 3
