"""Photos and files a shopper attaches in the web widget (issue 27: "photos of the damage").

The path of one upload (docs/widget.md#photos-and-files):

1. The widget POSTs the file to ``/api/public/uploads`` with its session id (the shopper's bearer secret, signed
   by the socket.io channel) and a client id of its own for this upload.
2. The console checks the signature, the size, the type **by the file's first bytes** (JPEG, PNG, WebP, GIF, PDF;
   the name and the browser's content type are not believed), the per-conversation rate and count limits, and
   stores the bytes under a random name without extension in the upload folder (outside every folder the console
   serves), mode 0600, and a row in ``console_attachments``.
3. It appends a user event "[图片] 名字.jpg" with ``metadata.kefu_attachment`` to the conversation through Rasa's
   HTTP API (no bot turn), the way agent replies reach it. From there everything that already reads the
   conversation sees it: the tracker (the history the widget restores, the transcript a later handoff attaches),
   the event broker and so the events tail, which puts it on the open ticket live.
4. The ticket's message finds the attachment by the event's identity (``event_key``), whichever way it arrived.

Nothing is lost: a retry or a duplicate delivery with the same client id finds the stored row (same bytes:
answered again, never stored twice; other bytes: refused); Rasa down leaves the row stored but undelivered and
the widget's retry delivers it. Files are served only through authenticated routes (console/web/widget.py,
console/web/widget_agents.py) with the sniffed type, ``nosniff``, ``Content-Disposition`` and a sandboxing CSP.
EXIF and other metadata in the files are kept as the shopper sent them (docs/privacy.md says so).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.widget.models import AttachmentRow
from kernel.handoff import event_key
from kernel.rasa_client import DeliveryRefused, RasaClient, RasaUnavailable

log = logging.getLogger("kefu.console.widget")

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_PER_CONVERSATION = 20
DEFAULT_RATE_LIMIT = 10
DEFAULT_RATE_WINDOW = 600.0
CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
ATTACHMENT_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME = 100

#: first bytes -> (kind, content type, extension); WebP is RIFF....WEBP
_SIGNATURES: Tuple[Tuple[bytes, str, str, str], ...] = (
    (b"\xff\xd8\xff", "image", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image", "image/png", "png"),
    (b"GIF87a", "image", "image/gif", "gif"),
    (b"GIF89a", "image", "image/gif", "gif"),
    (b"%PDF-", "file", "application/pdf", "pdf"),
)
ACCEPTED = ("image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf")

#: what the conversation (bot, agent, history) reads for an attachment, in the shopper's language
_LABELS = {
    "zh-Hans": {"image": "图片", "file": "文件"},
    "zh-Hant": {"image": "圖片", "file": "檔案"},
    "en": {"image": "photo", "file": "file"},
}


class UploadError(Exception):
    """An upload refused; ``status`` and ``code`` are the API's, ``message`` says what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Sniffed:
    kind: str  # image | file
    mime: str
    extension: str


@dataclass(frozen=True)
class UploadSettings:
    """``KEFU_UPLOAD_DIR`` [var/uploads], ``KEFU_UPLOAD_MAX_BYTES`` [5 MB], ``KEFU_UPLOAD_MAX_PER_CONVERSATION``
    [20], ``KEFU_UPLOAD_RATE_LIMIT`` [10] per ``KEFU_UPLOAD_RATE_WINDOW`` [600] seconds and conversation."""

    directory: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    max_per_conversation: int = DEFAULT_MAX_PER_CONVERSATION
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_window: float = DEFAULT_RATE_WINDOW

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, root: Optional[Path] = None) -> UploadSettings:
        env = os.environ if environ is None else environ
        base = root or Path.cwd()
        var_dir = Path(env.get("KEFU_VAR_DIR") or "var")
        directory = Path(env.get("KEFU_UPLOAD_DIR") or var_dir / "uploads")
        if not directory.is_absolute():
            directory = base / directory

        def number(name: str, default: float, kind: Callable[[str], Any], low: float, high: float) -> Any:
            raw = (env.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise ValueError(f"{name}={raw!r} is not a number") from None
            if not low <= value <= high:
                raise ValueError(f"{name}={raw!r} must be between {low} and {high}")
            return value

        return cls(
            directory=directory,
            max_bytes=number("KEFU_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES, int, 1024, 50 * 1024 * 1024),
            max_per_conversation=number("KEFU_UPLOAD_MAX_PER_CONVERSATION", DEFAULT_MAX_PER_CONVERSATION, int, 1, 1000),
            rate_limit=number("KEFU_UPLOAD_RATE_LIMIT", DEFAULT_RATE_LIMIT, int, 1, 1000),
            rate_window=number("KEFU_UPLOAD_RATE_WINDOW", DEFAULT_RATE_WINDOW, float, 1, 86400),
        )


def sniff(data: bytes) -> Optional[Sniffed]:
    """The file's type from its first bytes; None for anything but JPEG, PNG, WebP, GIF and PDF."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "webp")
    for magic, kind, mime, extension in _SIGNATURES:
        if data.startswith(magic):
            return Sniffed(kind, mime, extension)
    return None


def safe_name(name: Optional[str], sniffed: Sniffed) -> str:
    """A name to show: the last path part, control and format characters, quotes and slashes dropped, at most
    ``MAX_NAME`` characters, with the sniffed type's extension (a "photo.html" that is a JPEG reads "photo.jpg")."""
    raw = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in unicodedata.normalize("NFC", raw)
                   if unicodedata.category(ch)[0] not in ("C",) and ch not in '"<>|*?:;')
    stem = kept.strip().strip(".")
    if "." in stem:
        stem = stem.rsplit(".", 1)[0].strip()
    if not stem:
        stem = "photo" if sniffed.kind == "image" else "document"
    stem = stem[: MAX_NAME - len(sniffed.extension) - 1]
    return f"{stem}.{sniffed.extension}"


def label(kind: str, language: Optional[str]) -> str:
    return _LABELS.get(language or "", _LABELS["zh-Hans"])[kind]


def message_text(kind: str, name: str, language: Optional[str]) -> str:
    """The user message the conversation keeps for an attachment: "[图片] 破损.jpg"."""
    return f"[{label(kind, language)}] {name}"


def attachment_json(row: AttachmentRow) -> Dict[str, Any]:
    """What the widget, the history and the console show of an attachment (never where it is stored)."""
    return {"id": row.id, "kind": row.kind, "mime": row.mime, "name": row.name, "size": row.size}


def attachment_for_event(session: Session, key: str) -> Optional[Dict[str, Any]]:
    """The attachment a conversation event carries, by the event's identity (the tickets' ingest asks)."""
    row = session.scalars(sa.select(AttachmentRow).where(AttachmentRow.event_key == key).limit(1)).first()
    return attachment_json(row) if row is not None else None


@dataclass(frozen=True)
class Stored:
    row: Dict[str, Any]
    created: bool
    delivered: bool


class UploadStore:
    """Files on disk and their rows; delivery of the conversation event through Rasa's HTTP API."""

    def __init__(self, settings: UploadSettings, sessions: sessionmaker, rasa: RasaClient,
                 clock: Callable[[], float]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.rasa = rasa
        self.clock = clock

    def ensure_directory(self) -> None:
        self.settings.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.settings.directory, 0o700)

    def path_of(self, row: AttachmentRow) -> Path:
        return self.settings.directory / row.stored_name

    def read(self, row: AttachmentRow) -> Optional[bytes]:
        try:
            return self.path_of(row).read_bytes()
        except OSError:
            return None

    def find(self, session: Session, attachment_id: str) -> Optional[AttachmentRow]:
        if not ATTACHMENT_ID.match(attachment_id or ""):
            return None
        return session.get(AttachmentRow, attachment_id)

    def count(self, session: Session, conversation_id: str) -> int:
        return int(session.scalar(sa.select(sa.func.count()).select_from(AttachmentRow)
                                  .where(AttachmentRow.conversation_id == conversation_id)) or 0)

    def existing(self, conversation_id: str, client_id: str) -> Optional[AttachmentRow]:
        with self.sessions() as session:
            return session.scalars(sa.select(AttachmentRow).where(
                AttachmentRow.conversation_id == conversation_id, AttachmentRow.client_id == client_id)).first()

    def check(self, data: bytes) -> Sniffed:
        """Refuse an empty, too large or unsupported file (UploadError); the sniffed type otherwise."""
        if not data:
            raise UploadError(400, "empty_file", "the file is empty")
        if len(data) > self.settings.max_bytes:
            raise UploadError(413, "too_large", f"files are limited to {self.settings.max_bytes} bytes")
        sniffed = sniff(data)
        if sniffed is None:
            raise UploadError(415, "unsupported_type", "only JPEG, PNG, WebP and GIF photos and PDF files are accepted")
        return sniffed

    def store(self, conversation_id: str, client_id: str, filename: Optional[str], data: bytes,
              language: Optional[str]) -> Tuple[AttachmentRow, bool]:
        """Write the file and its row; (row, created). A row with this client id already there is returned as it
        is when it holds the same bytes (a retry), refused (409) when not."""
        if not CLIENT_ID.match(client_id or ""):
            raise UploadError(400, "bad_request", "client_id must be 1-128 characters of [A-Za-z0-9_.:-]")
        digest = hashlib.sha256(data).hexdigest()
        found = self.existing(conversation_id, client_id)
        if found is not None:
            return self._same(found, digest), False
        sniffed = self.check(data)
        with self.sessions() as session:
            if self.count(session, conversation_id) >= self.settings.max_per_conversation:
                raise UploadError(409, "too_many_files",
                                  f"this conversation already has {self.settings.max_per_conversation} files")
        name = safe_name(filename, sniffed)
        text = message_text(sniffed.kind, name, language)
        now = self.clock()
        row = AttachmentRow(id=secrets.token_hex(16), conversation_id=conversation_id, client_id=client_id,
                            kind=sniffed.kind, mime=sniffed.mime, name=name, size=len(data), sha256=digest,
                            stored_name=secrets.token_hex(16), text=text,
                            event_key=event_key(conversation_id, "user", now, text), event_at=now, created_at=now)
        self.ensure_directory()
        path = self.path_of(row)
        partial = path.with_name(path.name + ".part")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(partial, path)
        with self.sessions() as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # the same upload delivered twice at the same moment: keep the first
                session.rollback()
                path.unlink(missing_ok=True)
                found = self.existing(conversation_id, client_id)
                if found is None:
                    raise
                return self._same(found, digest), False
            session.refresh(row)
            session.expunge(row)
        log.info("attachment stored: %s %s %d bytes", row.id, row.mime, row.size)
        return row, True

    @staticmethod
    def _same(row: AttachmentRow, digest: str) -> AttachmentRow:
        if row.sha256 != digest:
            raise UploadError(409, "client_id_reused", "this client_id already names another file")
        return row

    async def deliver(self, row: AttachmentRow, language: Optional[str]) -> bool:
        """Put the attachment's user event into the conversation (once); True when it is there. Rasa down:
        False, the row stays undelivered for the next retry."""
        if row.delivered_at is not None:
            return True
        metadata = {"message_id": row.client_id, "kefu_attachment": attachment_json(row)}
        if language:
            metadata["language"] = language
        event = {"event": "user", "text": row.text, "timestamp": row.event_at, "input_channel": "socketio",
                 "message_id": row.client_id, "metadata": metadata,
                 "parse_data": {"text": row.text, "intent": {}, "entities": [], "message_id": row.client_id,
                                "metadata": metadata}}
        try:
            await self.rasa.append_events(row.conversation_id, [event], execute_side_effects=False)
        except (RasaUnavailable, DeliveryRefused) as error:
            log.warning("attachment %s not delivered yet: %s", row.id, error)
            return False
        with self.sessions() as session:
            stored = session.get(AttachmentRow, row.id)
            if stored is not None and stored.delivered_at is None:
                stored.delivered_at = self.clock()
                session.commit()
        row.delivered_at = self.clock()
        return True
