"""The learning loop: unanswered questions in SQL (SQLite always, PostgreSQL when up), grouped by similarity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from knowledge_base.__main__ import main
from knowledge_base.encoders import get_encoder
from knowledge_base.unanswered import Record, UnansweredStore, list_groups, mask

from .conftest import ENCODER

QUESTIONS = [
    ("你们卖汽车吗", "zh-Hans", "no_answer"),
    ("你們賣汽車嗎", "zh-Hant", "no_answer"),
    ("你们卖汽车吗", "zh-Hans", "no_answer"),
    ("do you sell cars", "en", "no_answer"),
    ("can I pay with bitcoin", "en", "clarify"),
    ("can i pay using bitcoin?", "en", "clarify"),
    ("'; DROP TABLE kb_unanswered; --", "en", "no_answer"),
]


def _fill(store: UnansweredStore) -> None:
    for i, (text, lang, outcome) in enumerate(QUESTIONS):
        store.record(
            Record(
                text,
                lang,
                outcome,
                [{"id": "payment.methods", "score": 0.41 - i / 100}],
                conversation_id=f"c{i}",
                kb_version="v1",
            )
        )


def _check_store(store: UnansweredStore) -> None:
    _fill(store)
    rows = store.rows()
    assert len(rows) == len(QUESTIONS)
    assert {r.text for r in rows} >= {"'; DROP TABLE kb_unanswered; --", "你们卖汽车吗"}
    assert all(r.created_at is not None and r.conversation_id for r in rows)
    assert max(r.top_score for r in rows) == pytest.approx(0.41)
    groups = list_groups(store, get_encoder(ENCODER), 0.75)
    by_text = {g.text: g for g in groups}
    assert by_text["你们卖汽车吗"].count >= 3  # the Traditional spelling joins the same group
    assert by_text["你们卖汽车吗"].languages["zh-Hans"] == 2
    assert groups[0].count == max(g.count for g in groups)
    assert sum(g.count for g in groups) == len(QUESTIONS)
    bitcoin = next(g for g in groups if "bitcoin" in g.text)
    assert bitcoin.count == 2 and bitcoin.top_candidates == ["payment.methods"]
    assert store.rows(since=datetime.now(timezone.utc) + timedelta(days=1)) == []


def test_sqlite_store(tmp_path) -> None:
    store = UnansweredStore(f"sqlite:///{tmp_path}/var/app.db")
    try:
        _check_store(store)
    finally:
        store.dispose()


def test_postgresql_store(pg_schema_url) -> None:
    store = UnansweredStore(pg_schema_url)
    try:
        _check_store(store)
    finally:
        store.dispose()


def test_cli_lists_groups_as_text_and_json(tmp_path, capsys, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    store = UnansweredStore(url)
    _fill(store)
    store.dispose()
    monkeypatch.setenv("KEFU_KB_ENCODER", ENCODER)
    assert main(["unanswered", "--db-url", url, "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)
    assert groups[0]["count"] >= 3 and groups[0]["text"] == "你们卖汽车吗"  # the English one may join too
    assert main(["unanswered", "--db-url", url]) == 0
    out = capsys.readouterr().out
    assert f"{groups[0]['count']:5d}  你们卖汽车吗" in out and "bitcoin" in out


def test_cli_empty_list(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("KEFU_KB_ENCODER", ENCODER)
    assert main(["unanswered", "--db-url", f"sqlite:///{tmp_path}/empty.db"]) == 0
    assert "no unanswered questions" in capsys.readouterr().out


def test_mask_hides_numbers_and_emails() -> None:
    assert (
        mask("我的手机13812345678 订单 KF20240001 邮箱 a.b@example.com")
        == "我的手机13********* 订单 KF20****** 邮箱 ***@***"
    )
