"""The widget's pure functions under Node (no browser needed): the file-type check before an upload agrees with
the console's, the contact check agrees with the console's, message times are the shop's (issue 27)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any, Dict, List

import pytest

from console.widget.contacts import ContactError, parse_contact
from console.widget.uploads import sniff
from kernel.settings import ROOT

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")
SRC = ROOT / "webchat" / "src"


def run(script: str, tz: str = "UTC") -> Any:
    """Run an ES module snippet with webchat/src importable; it prints one JSON value."""
    env = {**os.environ, "TZ": tz}
    result = subprocess.run([NODE, "--input-type=module", "-e", script], capture_output=True, text=True,
                            timeout=60, env=env, cwd=str(SRC))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SAMPLES: Dict[str, bytes] = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d",
    "gif87": b"GIF87a\x01\x00\x01\x00",
    "gif89": b"GIF89a\x01\x00\x01\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "pdf": b"%PDF-1.4\n%\xe2\xe3",
    "html": b"<html><body>",
    "svg": b"<svg xmlns=",
    "wav": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "exe": b"MZ\x90\x00\x03\x00",
    "short": b"\xff\xd8",
}


def test_the_widget_checks_file_types_as_the_console_does() -> None:
    samples = {k: list(v) for k, v in SAMPLES.items()}
    found = run("import { sniffBytes } from './uploads.js';"
                f"const s = {json.dumps(samples)};"
                "console.log(JSON.stringify(Object.fromEntries(Object.entries(s).map(([k, v]) => "
                "[k, sniffBytes(new Uint8Array(v))]))));")
    for name, data in SAMPLES.items():
        server = sniff(data)
        assert found[name] == (server.mime if server else None), name


CONTACTS: List[Dict[str, Any]] = [
    {"phone": "13812345678"}, {"phone": "+86 138-1234-5678"}, {"phone": "+4420712345678"}, {"phone": "12345"},
    {"phone": "23812345678"}, {"wechat": "kefu_fan01"}, {"wechat": "1abcdef"}, {"wechat": "abc"},
    {"email": "Zhang.San@Example.com"}, {"email": "a@b"}, {"email": "no-at-sign"}, {},
    {"phone": "13812345678", "wechat": "bad!", "email": "x@example.com"},
]


def test_the_widget_checks_contacts_as_the_console_does() -> None:
    found = run("import { checkContact } from './contact.js';"
                f"const cases = {json.dumps(CONTACTS)};"
                "console.log(JSON.stringify(cases.map((c) => checkContact(c))));")
    for case, widget in zip(CONTACTS, found, strict=True):
        try:
            server = parse_contact(case).as_dict()
        except ContactError as error:
            assert widget.get("field") == error.field, case
            continue
        assert widget.get("values") == server, case


def test_message_times_are_the_shops_not_the_browsers() -> None:
    # 2026-11-20 10:30 UTC is 18:30 in Shanghai; "now" a day later, then the same Shanghai day
    script = ("import { messageTime } from './cards.js';"
              "const at = Date.UTC(2026, 10, 20, 10, 30) / 1000;"
              "console.log(JSON.stringify(["
              "messageTime(at, 'zh-Hans', 'Asia/Shanghai', Date.UTC(2026, 10, 21, 3, 0)),"
              "messageTime(at, 'en', 'Asia/Shanghai', Date.UTC(2026, 10, 21, 3, 0)),"
              "messageTime(at, 'zh-Hans', 'Asia/Shanghai', Date.UTC(2026, 10, 20, 15, 0)),"
              "messageTime(at, 'zh-Hans', 'No/Such_Zone', Date.UTC(2026, 10, 20, 15, 0)),"
              "messageTime(undefined, 'zh-Hans', 'Asia/Shanghai')]));")
    for tz in ("UTC", "America/New_York"):
        assert run(script, tz) == ["11-20 18:30", "Nov 20 18:30", "18:30", "18:30", None]
