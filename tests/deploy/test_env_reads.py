"""The scan of environment reads (tests/deploy/env_reads.py): what counts as a fallback."""

from __future__ import annotations

import textwrap
from typing import Dict

import pytest

from tests.deploy.env_reads import reads_in_source, without_fallback


def _fallbacks(source: str) -> Dict[str, bool]:
    """name -> True when every read of it has a fallback."""
    reads = reads_in_source(textwrap.dedent(source))
    return {r.name: r.name not in without_fallback(reads) for r in reads}


@pytest.mark.parametrize(
    ("source", "has_fallback"),
    [
        ('x = os.environ.get("KEFU_A")', False),
        ('x = os.environ.get("KEFU_A", "default")', True),
        ('x = os.environ.get("KEFU_A", "")', True),
        ('x = os.environ.get("KEFU_A", None)', False),
        ('x = os.getenv("KEFU_A")', False),
        ('x = env.get("KEFU_A") or "default"', True),
        ('x = env.get("KEFU_A") or None', False),
        ('x = env["KEFU_A"]', False),
        ('x = int(env.get("KEFU_A") or 3)', True),
        ('x = _flag(env.get("KEFU_A"), False)', True),
        ('x = setting(credentials, "key", "KEFU_A", 20)', True),
        ('x = setting(credentials, "key", "KEFU_A")', False),
        ("if env.get('KEFU_A'):\n    x = env['KEFU_A']", True),
        ("x = 1 if env.get('KEFU_A') else 2", True),
        ("if not os.environ.get('KEFU_A'):\n    pass", True),
        ('NAME_ENV = "KEFU_A"\nx = os.environ.get(NAME_ENV)', False),
        ('NAME_ENV = "KEFU_A"\nx = os.environ.get(NAME_ENV, "1")', True),
        ('x = int_setting(setting(credentials, "k", "KEFU_A", 20), "KEFU_A")', True),
        ('x = env.get("WECHAT_TOKEN")', False),
    ],
)
def test_fallback_detection(source: str, has_fallback: bool) -> None:
    assert _fallbacks(source) == {"KEFU_A" if "KEFU_A" in source else "WECHAT_TOKEN": has_fallback}


@pytest.mark.parametrize(
    "source",
    [
        'x = os.environ.get("HOME")',
        'raise ValueError("KEFU_A must be a number")',
        'x = "KEFU_A=1"',
        '"""KEFU_A: a docstring"""',
    ],
)
def test_other_strings_are_not_reads(source: str) -> None:
    assert reads_in_source(source) == []


def test_one_unguarded_read_is_enough() -> None:
    source = """
    a = env.get("KEFU_A") or "default"
    b = env["KEFU_A"]
    """
    assert _fallbacks(source) == {"KEFU_A": False}


def test_reads_carry_their_location() -> None:
    reads = reads_in_source('\n\nx = os.environ.get("KEFU_A")\n', "pkg/mod.py")
    assert [(r.path, r.line) for r in reads] == [("pkg/mod.py", 3)]
