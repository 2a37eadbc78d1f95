"""The widget's tables and files under the privacy jobs (console/widget/privacy.py through console/privacy/stores.py):
export, erasure and retention delete rows and files, dry runs count without touching either (issue 27)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.models import create_schema, make_engine
from console.widget.models import AttachmentRow, ContactRow, CsatCommentRow, SeenRow
from console.widget.privacy import WidgetPrivacy

DAY = 86400.0
NOW = 1_800_000_000.0


@pytest.fixture()
def stores(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'console.db'}")
    create_schema(engine)
    folder = tmp_path / "uploads"
    folder.mkdir()
    yield engine, folder, WidgetPrivacy(engine, folder)
    engine.dispose()


def seed(engine: sa.Engine, folder: Path, conversation: str, at: float, n: int) -> str:
    name = f"{n:032x}"
    (folder / name).write_bytes(b"\xff\xd8\xff" + bytes([n]))
    with Session(engine) as session, session.begin():
        session.add(AttachmentRow(id=f"{n + 100:032x}", conversation_id=conversation, client_id=f"u-{n}", kind="image",
                                  mime="image/jpeg", name="a.jpg", size=4, sha256="0" * 64, stored_name=name,
                                  text="[图片] a.jpg", event_key=f"k{n}", event_at=at, delivered_at=at, created_at=at))
        session.add(ContactRow(conversation_id=conversation, phone="13812345678", wechat="", email="", language="zh-Hans",
                               created_at=at, updated_at=at))
        session.add(SeenRow(conversation_id=conversation, seen_at=at, updated_at=at))
        session.add(CsatCommentRow(conversation_id=conversation, kind="bot", ticket_id=None, rating=4, comment="好",
                                   client_id=f"c-{n}", created_at=at))
    return name


def counts(engine: sa.Engine) -> tuple:
    with Session(engine) as session:
        return tuple(session.scalar(sa.select(sa.func.count()).select_from(m))
                     for m in (AttachmentRow, ContactRow, SeenRow, CsatCommentRow))


def test_erasure_deletes_the_conversations_rows_and_files(stores) -> None:  # type: ignore[no-untyped-def]
    engine, folder, widget = stores
    mine = seed(engine, folder, "web:mine", NOW, 1)
    other = seed(engine, folder, "web:other", NOW, 2)
    exported = widget.export(["web:mine"], [])
    assert [a["stored_name"] for a in exported["attachments"]] == [mine]
    assert exported["contacts"][0]["phone"] == "13812345678"
    dry = widget.erase(["web:mine"], [], dry_run=True, batch=10)
    assert dry == {"console_attachments": 1, "console_contacts": 1, "console_widget_seen": 1, "console_csat_comments": 1}
    assert counts(engine) == (2, 2, 2, 2) and (folder / mine).exists()
    assert widget.erase(["web:mine"], [], dry_run=False, batch=10) == dry
    assert counts(engine) == (1, 1, 1, 1)
    assert not (folder / mine).exists() and (folder / other).exists()


def test_retention_follows_the_transcripts_and_feedback_periods(stores) -> None:  # type: ignore[no-untyped-def]
    engine, folder, widget = stores
    old = seed(engine, folder, "web:old", NOW - 200 * DAY, 1)
    new = seed(engine, folder, "web:new", NOW - 5 * DAY, 2)
    cutoff = NOW - 180 * DAY
    assert widget.retain_transcripts(cutoff, dry_run=True, batch=1) == \
        {"console_attachments": 1, "console_contacts": 1, "console_widget_seen": 1, "upload_files_without_row": 0}
    assert (folder / old).exists()
    assert widget.retain_transcripts(cutoff, dry_run=False, batch=1)["console_attachments"] == 1
    assert not (folder / old).exists() and (folder / new).exists()
    assert widget.retain_feedback(cutoff, dry_run=False, batch=1) == {"console_csat_comments": 1}
    assert counts(engine) == (1, 1, 1, 1)


def test_files_no_row_names_are_removed_once_they_are_old(stores) -> None:  # type: ignore[no-untyped-def]
    import os

    engine, folder, widget = stores
    kept = seed(engine, folder, "web:kept", NOW, 1)
    stray = folder / ("f" * 32)
    stray.write_bytes(b"x")
    fresh = folder / ("e" * 32 + ".part")
    fresh.write_bytes(b"x")
    os.utime(stray, (1, 1))
    assert widget.remove_orphans(dry_run=True) == 1 and stray.exists()  # the dry run reports what the run removes
    assert widget.remove_orphans() == 1
    assert not stray.exists() and fresh.exists() and (folder / kept).exists()
