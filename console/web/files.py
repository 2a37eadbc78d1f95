"""Files the console serves as they are (pages, static assets, the widget bundle, the demo shop): resolved
inside their folder only, with the content type and the security headers of a page."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Optional

from sanic.response import HTTPResponse, raw

from console.settings import ROOT

STATIC_DIR = ROOT / "console" / "static"
TEMPLATES_DIR = ROOT / "console" / "templates"
WIDGET_FILE = ROOT / "webchat" / "dist" / "kefu-widget.js"
DEMO_FILE = ROOT / "webchat" / "demo" / "index.html"
PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'")


def safe_file(base: Path, relative: str) -> Optional[Path]:
    """``base/relative`` when it is a file inside ``base`` (no ``..`` or symlink escapes), else None."""
    try:
        path = (base / relative).resolve()
        path.relative_to(base.resolve())
    except (ValueError, OSError):
        return None
    return path if path.is_file() else None


def file_response(path: Path, page: bool = False) -> HTTPResponse:
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if content_type.startswith("text/") or content_type in ("application/javascript", "application/json"):
        content_type += "; charset=utf-8"
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    if page:
        headers.update({"Content-Security-Policy": PAGE_CSP, "Referrer-Policy": "same-origin",
                        "X-Frame-Options": "DENY"})
    return raw(path.read_bytes(), content_type=content_type, headers=headers)
