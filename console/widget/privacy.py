"""The widget's tables and files under the privacy jobs (console/privacy/stores.py calls these; docs/privacy.md).

- **export**: attachments (name, type, size, when; not the bytes: the files stay in the upload folder, named by
  ``stored_name``), the contact, the seen mark, CSAT comments;
- **erase**: all of them deleted, the files too;
- **retention**: attachments, contacts and seen marks with the transcripts (``transcripts`` days), CSAT comments
  with the feedback (``feedback`` days); the files of deleted attachments are removed.

A file is removed after its row's transaction committed; a file whose removal failed (a read-only disk) is logged
and left over: ``remove_orphans``, run with every retention job, deletes files no row names (older than an hour).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from console.widget.models import AttachmentRow, ContactRow, CsatCommentRow, SeenRow

log = logging.getLogger("kefu.console.privacy")

Counts = Dict[str, int]


def _chunks(values: Sequence[Any], size: int) -> List[List[Any]]:
    return [list(values[i:i + size]) for i in range(0, len(values), max(1, size))]


def _plain(row: Any) -> Dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in sa.inspect(row).mapper.column_attrs}


class WidgetPrivacy:
    def __init__(self, engine: sa.Engine, upload_dir: Path) -> None:
        self.engine = engine
        self.upload_dir = upload_dir

    def export(self, senders: Sequence[str], ticket_ids: Sequence[int]) -> Dict[str, Any]:
        senders, tickets = sorted(senders), list(ticket_ids)
        with Session(self.engine) as session:
            comments = sa.or_(CsatCommentRow.conversation_id.in_(senders), CsatCommentRow.ticket_id.in_(tickets))
            return {
                "attachments": [_plain(r) for r in session.scalars(
                    sa.select(AttachmentRow).where(AttachmentRow.conversation_id.in_(senders))
                    .order_by(AttachmentRow.created_at))],
                "contacts": [_plain(r) for r in session.scalars(
                    sa.select(ContactRow).where(ContactRow.conversation_id.in_(senders)))],
                "seen": [_plain(r) for r in session.scalars(
                    sa.select(SeenRow).where(SeenRow.conversation_id.in_(senders)))],
                "csat_comments": [_plain(r) for r in session.scalars(
                    sa.select(CsatCommentRow).where(comments).order_by(CsatCommentRow.id))],
            }

    def erase(self, senders: Sequence[str], ticket_ids: Sequence[int], dry_run: bool, batch: int) -> Counts:
        senders, tickets = sorted(senders), list(ticket_ids)
        counts = {
            "console_attachments": self._delete_attachments(
                lambda chunk: AttachmentRow.conversation_id.in_(chunk), senders, dry_run, batch),
            "console_contacts": self._delete(ContactRow, ContactRow.conversation_id, senders, dry_run, batch),
            "console_widget_seen": self._delete(SeenRow, SeenRow.conversation_id, senders, dry_run, batch),
            "console_csat_comments": self._delete(CsatCommentRow, CsatCommentRow.conversation_id, senders,
                                                  dry_run, batch),
        }
        counts["console_csat_comments"] += self._delete(CsatCommentRow, CsatCommentRow.ticket_id, tickets,
                                                        dry_run, batch)
        return counts

    def retain_transcripts(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        with Session(self.engine) as session:
            old = list(session.scalars(sa.select(AttachmentRow.id).where(AttachmentRow.created_at < cutoff)))
            contacts = list(session.scalars(sa.select(ContactRow.conversation_id)
                                            .where(ContactRow.updated_at < cutoff)))
            seen = list(session.scalars(sa.select(SeenRow.conversation_id).where(SeenRow.updated_at < cutoff)))
        counts = {
            "console_attachments": self._delete_attachments(lambda chunk: AttachmentRow.id.in_(chunk), old,
                                                            dry_run, batch),
            "console_contacts": self._delete(ContactRow, ContactRow.conversation_id, contacts, dry_run, batch),
            "console_widget_seen": self._delete(SeenRow, SeenRow.conversation_id, seen, dry_run, batch),
        }
        counts["upload_files_without_row"] = self.remove_orphans(dry_run)
        return counts

    def retain_feedback(self, cutoff: float, dry_run: bool, batch: int) -> Counts:
        with Session(self.engine) as session:
            ids = list(session.scalars(sa.select(CsatCommentRow.id).where(CsatCommentRow.created_at < cutoff)))
        return {"console_csat_comments": self._delete(CsatCommentRow, CsatCommentRow.id, ids, dry_run, batch)}

    # -- work
    def _delete(self, model: Any, column: Any, keys: Sequence[Any], dry_run: bool, batch: int) -> int:
        total = 0
        for chunk in _chunks(list(keys), batch):
            with Session(self.engine) as session, session.begin():
                if dry_run:
                    total += int(session.scalar(sa.select(sa.func.count()).select_from(model)
                                                .where(column.in_(chunk))) or 0)
                    continue
                total += session.execute(sa.delete(model).where(column.in_(chunk))).rowcount or 0
        return total

    def _delete_attachments(self, where: Any, keys: Sequence[Any], dry_run: bool, batch: int) -> int:
        total = 0
        for chunk in _chunks(list(keys), batch):
            with Session(self.engine) as session, session.begin():
                rows = list(session.scalars(sa.select(AttachmentRow).where(where(chunk))))
                total += len(rows)
                if dry_run or not rows:
                    continue
                names = [r.stored_name for r in rows]
                session.execute(sa.delete(AttachmentRow).where(AttachmentRow.id.in_([r.id for r in rows])))
            self._remove_files(names)
        return total

    def _remove_files(self, names: Sequence[str]) -> None:
        for name in names:
            try:
                (self.upload_dir / name).unlink(missing_ok=True)
            except OSError as error:
                log.warning("privacy: could not remove an attachment file (%s); remove_orphans retries",
                            type(error).__name__)

    def remove_orphans(self, dry_run: bool = False) -> int:
        """Delete files in the upload folder that no attachment row names (a failed removal, a crash between the
        file and its row) that are older than an hour, partial writes included. How many were (or, in a dry run,
        would be) removed."""
        if not self.upload_dir.is_dir():
            return 0
        with Session(self.engine) as session:
            known = set(session.scalars(sa.select(AttachmentRow.stored_name)))
        removed = 0
        for path in self.upload_dir.iterdir():
            if not path.is_file() or path.name in known:
                continue
            if time.time() - path.stat().st_mtime < 3600:
                continue  # written a moment ago: its row may be on the way
            if dry_run:
                removed += 1
                continue
            try:
                path.unlink()
                removed += 1
            except OSError:
                continue
        return removed
