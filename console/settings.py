"""Console settings: ``console/config.yml`` plus environment variables.

Environment (dev defaults in brackets; docs/console.md):

- ``KEFU_HOST`` [127.0.0.1], ``KEFU_CONSOLE_PORT`` [8080]
- ``KEFU_CONSOLE_DB_URL`` [sqlite:///var/console.db]: tickets, agents, sessions
- ``KEFU_EVENTS_DB`` [var/events.db] or ``KEFU_EVENTS_DB_URL``: Rasa's SQL event broker, tailed read-only
- ``KEFU_CONSOLE_SERVICE_TOKEN``: bearer token of the internal API (action server)
- ``KEFU_CONSOLE_SECRET``: key for session ids (HMAC); generated into var/console_secret when unset
- ``KEFU_RASA_URL`` [http://127.0.0.1:5005], ``KEFU_RASA_TOKEN``: Rasa's HTTP API (never sent to browsers)
- ``KEFU_CONSOLE_CONFIG``: another YAML instead of console/config.yml
- ``KEFU_CONSOLE_SECURE_COOKIE`` [false]: mark the session cookie Secure (set behind HTTPS)
- ``KEFU_CONSOLE_DEMO_ACCOUNTS`` [true]: seed the demo accounts at startup
- ``KEFU_CONSOLE_TAIL_INTERVAL`` [0.2]: seconds between polls of the events table when idle
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import yaml

from launcher.settings import persisted_secret

ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILE = Path(__file__).resolve().parent / "config.yml"
CANNED_FILE = Path(__file__).resolve().parent / "canned.yml"


class SettingsError(ValueError):
    """The console configuration is malformed."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    db_url: str
    events_db_url: str
    service_token: str
    secret: str
    rasa_url: str
    rasa_token: str
    secure_cookie: bool
    demo_accounts: bool
    tail_interval: float
    config: Dict[str, Any] = field(default_factory=dict)

    @property
    def teams(self) -> List[str]:
        return [t["id"] for t in self.config["teams"]]

    @property
    def resolutions(self) -> List[str]:
        return [r["id"] for r in self.config["resolutions"]]


def _abs_sqlite(url_or_path: str) -> str:
    """A path or a relative sqlite URL -> an absolute sqlite URL (relative to the project root)."""
    if "://" not in url_or_path:
        path = Path(url_or_path)
        return f"sqlite:///{path if path.is_absolute() else ROOT / path}"
    if url_or_path.startswith("sqlite:///") and not url_or_path.startswith("sqlite:////"):
        rel = url_or_path[len("sqlite:///"):]
        if rel and not rel.startswith(":memory:"):
            return f"sqlite:///{ROOT / rel}"
    return url_or_path


def _flag(value: Optional[str], default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(path: Optional[Path] = None) -> Dict[str, Any]:
    path = path or CONFIG_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping")
    for key in ("sla", "staffed_hours", "eta", "routing", "priority", "teams", "resolutions"):
        if key not in data:
            raise SettingsError(f"{path}: missing section {key!r}")
    teams = {t["id"] for t in data["teams"]}
    for category, team in data["routing"].items():
        if team not in teams:
            raise SettingsError(f"{path}: routing {category} -> unknown team {team!r}")
    return data


def _secret(var_dir: Path, environ: Mapping[str, str]) -> str:
    return persisted_secret(var_dir, "KEFU_CONSOLE_SECRET", environ)


def _rasa_token(var_dir: Path, environ: Mapping[str, str]) -> str:
    # The Rasa server owns its token: read it, never invent one here.
    return persisted_secret(var_dir, "KEFU_RASA_TOKEN", environ, create=False)


def _service_token(var_dir: Path, environ: Mapping[str, str]) -> str:
    return persisted_secret(var_dir, "KEFU_CONSOLE_SERVICE_TOKEN", environ)


def load_settings(environ: Optional[Mapping[str, str]] = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    var_dir = Path(env.get("KEFU_VAR_DIR") or "var")
    var_dir = var_dir if var_dir.is_absolute() else ROOT / var_dir
    host = env.get("KEFU_HOST") or "127.0.0.1"
    config_path = env.get("KEFU_CONSOLE_CONFIG")
    events = env.get("KEFU_EVENTS_DB_URL") or env.get("KEFU_EVENTS_DB") or str(var_dir / "events.db")
    try:
        port = int(env.get("KEFU_CONSOLE_PORT") or 8080)
        tail_interval = float(env.get("KEFU_CONSOLE_TAIL_INTERVAL") or 0.2)
    except ValueError as error:
        raise SettingsError(f"bad number in the environment: {error}") from error
    return Settings(
        host=host,
        port=port,
        db_url=_abs_sqlite(env.get("KEFU_CONSOLE_DB_URL") or str(var_dir / "console.db")),
        events_db_url=_abs_sqlite(events),
        service_token=_service_token(var_dir, env),
        secret=_secret(var_dir, env),
        rasa_url=(env.get("KEFU_RASA_URL") or f"http://{host}:{env.get('KEFU_RASA_PORT') or 5005}").rstrip("/"),
        rasa_token=_rasa_token(var_dir, env),
        secure_cookie=_flag(env.get("KEFU_CONSOLE_SECURE_COOKIE"), False),
        demo_accounts=_flag(env.get("KEFU_CONSOLE_DEMO_ACCOUNTS"), True),
        tail_interval=tail_interval,
        config=load_config(Path(config_path) if config_path else None),
    )


def load_canned(path: Path = CANNED_FILE) -> List[Dict[str, Any]]:
    """Canned responses with all three languages filled (Traditional from Simplified via OpenCC)."""
    from bot.i18n import to_traditional

    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        text = dict(item["text"])
        text.setdefault("zh-Hant", to_traditional(text["zh-Hans"]))
        title = dict(item["title"])
        title.setdefault("zh-Hant", to_traditional(title["zh-Hans"]))
        out.append({"id": item["id"], "title": title, "text": text})
    return out
