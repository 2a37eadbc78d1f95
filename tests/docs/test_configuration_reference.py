"""docs/configuration.md is the one reference of Kefu's settings: every KEFU_*, WECHAT_* and WECOM_* variable the code
reads is there, and the other pages link to it instead of keeping their own tables."""

from __future__ import annotations

import re
from pathlib import Path

from tests.deploy.env_reads import all_names, reads_in_tree

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("actions", "bot", "console", "kernel", "knowledge_base", "launcher")
REFERENCE = ROOT / "docs" / "configuration.md"
SETTING = re.compile(r"\b(?:KEFU|WECHAT|WECOM)_[A-Z0-9_]+\b")


def documented(text: str) -> set:
    return set(SETTING.findall(text))


def test_every_setting_the_code_reads_is_in_the_reference():
    read = all_names(reads_in_tree(ROOT, PACKAGES))
    assert len(read) > 40, "the scan found too few settings: has env_reads changed?"
    assert sorted(read - documented(REFERENCE.read_text(encoding="utf-8"))) == []


def test_a_missing_setting_would_be_noticed():
    read = all_names(reads_in_tree(ROOT, PACKAGES))
    text = REFERENCE.read_text(encoding="utf-8").replace("KEFU_CONSOLE_LOGIN_WINDOW", "")
    assert "KEFU_CONSOLE_LOGIN_WINDOW" in read - documented(text)


def test_no_other_page_keeps_a_table_of_console_or_wechat_settings():
    """The console's and the WeChat channel's tables were merged into the reference (issue 28)."""
    for name in ("console.md", "wechat.md", "store-api.md"):
        rows = [line for line in (ROOT / "docs" / name).read_text(encoding="utf-8").splitlines()
                if re.match(r"\|\s*`(KEFU|WECHAT|WECOM)_", line)]
        assert rows == [], f"docs/{name} keeps settings rows; link to docs/configuration.md instead: {rows[:3]}"
