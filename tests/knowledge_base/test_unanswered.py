"""The learning loop: unanswered questions in SQL (SQLite always, PostgreSQL when up), grouped by similarity, and
the review the supervisor dashboard reads through."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from knowledge_base.__main__ import main
from knowledge_base.learning.unanswered import NO_STORE, Record, Review, UnansweredStore, list_groups, mask, review
from knowledge_base.serving.encoders import get_encoder

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


# ---------------------------------------------------------------------- the dashboard's review (the console's API)


def _review_config(tmp_path, url: str, encoder: str = ENCODER):
    from .conftest import make_config

    config = make_config(tmp_path / "faq", tmp_path / "out", encoder=encoder)
    return replace(config, unanswered=replace(config.unanswered, db_url=url))


@pytest.fixture()
def no_app_db_env(monkeypatch):
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)


@pytest.mark.usefixtures("no_app_db_env")
def test_review_of_a_store_that_is_not_there_creates_nothing(tmp_path) -> None:
    for url in (f"sqlite:///{tmp_path}/var/app.db", "sqlite:///var/app.db"):  # absolute, and relative to the root
        result = review(config=_review_config(tmp_path, url), root=tmp_path)
        assert result == Review(False, "exact", (), NO_STORE)
    assert not (tmp_path / "var").exists()
    empty = tmp_path / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # a database without the table
    assert review(config=_review_config(tmp_path, f"sqlite:///{empty}")).reason == NO_STORE
    assert not sa.inspect(sa.create_engine(f"sqlite:///{empty}")).get_table_names()


@pytest.mark.usefixtures("no_app_db_env")
def test_review_groups_by_meaning_or_by_identical_text(tmp_path) -> None:
    (tmp_path / "var").mkdir()
    url = "sqlite:///var/app.db"  # relative: taken from the root, as the processes run there
    store = UnansweredStore(f"sqlite:///{tmp_path}/var/app.db")
    _fill(store)
    store.record(Record("🙂" * 3000, "en", "no_answer", []))  # huge emoji text: stored cut, listed
    store.dispose()
    config = _review_config(tmp_path, url)
    similar = review(config=config, root=tmp_path)
    assert similar.available and similar.grouping == "similarity"
    assert similar.groups[0].text == "你们卖汽车吗" and similar.groups[0].count >= 3
    assert sum(g.count for g in similar.groups) == len(QUESTIONS) + 1
    exact = review(similar=False, config=config, root=tmp_path)
    assert exact.grouping == "exact"
    by_text = {g.text: g for g in exact.groups}
    # identical after normalisation (the Traditional spelling too); the two bitcoin phrasings differ in words
    assert by_text["你们卖汽车吗"].count == 3 and by_text["你们卖汽车吗"].languages == {"zh-Hans": 2, "zh-Hant": 1}
    assert sum("bitcoin" in t for t in by_text) == 2 and "do you sell cars" in by_text
    assert "'; DROP TABLE kb_unanswered; --" in by_text  # hostile text is just text
    assert len(review(limit=2, config=config, root=tmp_path).groups) == 2
    assert review(limit=0, config=config, root=tmp_path).groups == ()


@pytest.mark.usefixtures("no_app_db_env")
def test_review_keeps_to_the_window_and_survives_a_broken_encoder(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/app.db"
    store = UnansweredStore(url)
    old = datetime.now(timezone.utc) - timedelta(days=30)
    store.record(Record("old question", "en", "no_answer", [], created_at=old))
    store.record(Record("new question", "en", "clarify", []))
    store.dispose()
    recent = review(days=7, config=_review_config(tmp_path, url))
    assert [(g.text, g.count) for g in recent.groups] == [("new question", 1)]
    assert sum(g.count for g in review(config=_review_config(tmp_path, url)).groups) == 2
    broken = review(config=_review_config(tmp_path, url, encoder="no-such-encoder"))
    assert broken.available and broken.grouping == "exact"
    assert sorted(g.text for g in broken.groups) == ["new question", "old question"]


@pytest.mark.usefixtures("no_app_db_env")
def test_review_of_a_corrupt_store_raises(tmp_path) -> None:
    """The caller (the console) decides what a broken store shows; the review never hides the error."""
    corrupt = tmp_path / "app.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(sa.exc.DatabaseError):
        review(config=_review_config(tmp_path, f"sqlite:///{corrupt}"))


def test_review_reads_postgresql(pg_schema_url, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("KEFU_APP_DB_URL", raising=False)
    config = _review_config(tmp_path, pg_schema_url)
    assert review(config=config).reason == NO_STORE
    store = UnansweredStore(pg_schema_url)
    try:
        _fill(store)
    finally:
        store.dispose()
    result = review(config=config)
    assert result.available and result.groups[0].count >= 3


@pytest.mark.usefixtures("no_app_db_env")
def test_review_encodes_each_question_once(tmp_path, monkeypatch) -> None:
    """A dashboard that reloads encodes only the questions recorded since its last look."""
    from knowledge_base.learning import unanswered

    encoded: list = []

    class Counting:
        id, dim = "counting-usem3", 512

        def encode_queries(self, texts):
            encoded.extend(texts)
            return get_encoder(ENCODER).encode_queries(texts)

    monkeypatch.setattr(unanswered, "_review_encoder", lambda config: Counting())
    url = f"sqlite:///{tmp_path}/app.db"
    store = UnansweredStore(url)
    _fill(store)
    config = _review_config(tmp_path, url)
    first = review(config=config)
    assert len(encoded) == len(QUESTIONS)
    assert review(config=config) == first and len(encoded) == len(QUESTIONS)
    store.record(Record("where is my parcel", "en", "no_answer", []))
    store.dispose()
    assert sum(g.count for g in review(config=config).groups) == len(QUESTIONS) + 1
    assert encoded[len(QUESTIONS) :] == ["where is my parcel"]
