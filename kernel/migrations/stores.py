"""The stores Kefu migrates: one Alembic script directory and one version table each, and the database URL each
one's service reads.

The kernel imports nothing else of Kefu (docs/architecture.md), so the URL rules are restated here from the
environment the services read; ``tests/kernel/test_migrations.py`` checks they agree with each service's own
resolution. The two ``wechat_*`` stores belong to the Rasa process (no Alembic there):
``kefu-migrate`` upgrades them like the others and the Rasa process checks them with :mod:`kernel.migrations.light`.
Several stores may share one database (on the embedded default ``knowledge`` and ``notifier`` share
``var/kefu_app.db``): their version tables differ, so they never clash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

APP_DB_DEFAULT = "sqlite:///var/kefu_app.db"
STORE_DB_DEFAULT = "sqlite:///var/store.db"


@dataclass(frozen=True)
class Store:
    name: str
    title: str
    #: the database URL the service reads, or None when this deployment keeps the store elsewhere (not in SQL)
    url: Callable[[Mapping[str, str]], Optional[str]]

    @property
    def version_table(self) -> str:
        return f"kefu_version_{self.name}"

    @property
    def script_dir(self) -> Path:
        return HERE / self.name


def _var_dir(env: Mapping[str, str]) -> Path:
    path = Path(env.get("KEFU_VAR_DIR") or "var")
    return path if path.is_absolute() else ROOT / path


def _abs_sqlite(url_or_path: str) -> str:
    """As the console reads its URL: a path or a relative sqlite URL is taken from the project root."""
    if "://" not in url_or_path:
        path = Path(url_or_path)
        return f"sqlite:///{path if path.is_absolute() else ROOT / path}"
    if url_or_path.startswith("sqlite:///") and not url_or_path.startswith("sqlite:////"):
        rel = url_or_path[len("sqlite:///") :]
        if rel and not rel.startswith(":memory:"):
            return f"sqlite:///{ROOT / rel}"
    return url_or_path


def console_url(env: Mapping[str, str]) -> Optional[str]:
    """``console.settings``: KEFU_CONSOLE_DB_URL, else ``console.db`` in the var dir."""
    return _abs_sqlite(env.get("KEFU_CONSOLE_DB_URL") or str(_var_dir(env) / "console.db"))


def store_url(env: Mapping[str, str]) -> Optional[str]:
    """``actions.store.factory``: the demo/seller SQL store, unless KEFU_STORE_BACKEND=http."""
    if (env.get("KEFU_STORE_BACKEND", "sql") or "sql").strip().lower() != "sql":
        return None
    return env.get("KEFU_STORE_DB_URL") or STORE_DB_DEFAULT


def knowledge_url(env: Mapping[str, str]) -> Optional[str]:
    """``knowledge_base.config``: KEFU_APP_DB_URL, else ``unanswered.db_url`` of the KB config, else the default."""
    if env.get("KEFU_APP_DB_URL"):
        return env["KEFU_APP_DB_URL"]
    path = Path(env.get("KEFU_KB_CONFIG") or ROOT / "knowledge_base" / "config.yml")
    if path.exists():
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        section = raw.get("unanswered") if isinstance(raw, dict) else None
        if isinstance(section, dict) and section.get("db_url"):
            return str(section["db_url"])
    return APP_DB_DEFAULT


def notifier_url(env: Mapping[str, str]) -> Optional[str]:
    """``actions.notifier.ledger``: KEFU_APP_DB_URL, else the default application database."""
    return env.get("KEFU_APP_DB_URL") or APP_DB_DEFAULT


def verification_url(env: Mapping[str, str]) -> Optional[str]:
    """``actions.verification_guard``: the SQL lockout store, unless Redis or memory is configured."""
    kind = (env.get("KEFU_VERIFY_BACKEND", "") or "auto").strip().lower()
    redis_url = (env.get("KEFU_VERIFY_REDIS_URL", "") or env.get("KEFU_RATE_LIMIT_REDIS_URL", "") or "").strip()
    if kind in ("redis", "memory") or (kind == "auto" and redis_url):
        return None
    url = (env.get("KEFU_VERIFY_DB_URL", "") or "").strip()
    return url or f"sqlite:///{os.path.join(str(_var_dir(env)), 'verification.db')}"


def _rasa_store_url(env: Mapping[str, str], own: str, filename: str) -> Optional[str]:
    """The WeChat stores of the Rasa process: their own variable, else KEFU_APP_DB_URL, else a SQLite file in the
    var dir (a relative KEFU_VAR_DIR taken from the working directory, as those modules do); a Redis URL is not SQL."""
    url = (env.get(own) or env.get("KEFU_APP_DB_URL") or "").strip()
    if url.startswith(("redis://", "rediss://")):
        return None
    if url:
        return url
    return f"sqlite:///{Path(env.get('KEFU_VAR_DIR') or 'var').resolve() / filename}"


def wechat_outbox_url(env: Mapping[str, str]) -> Optional[str]:
    """``bot.channels.wechat.outbox``: KEFU_WECHAT_OUTBOX_URL, else KEFU_APP_DB_URL, else ``wechat_outbox.db``."""
    return _rasa_store_url(env, "KEFU_WECHAT_OUTBOX_URL", "wechat_outbox.db")


def wechat_kf_url(env: Mapping[str, str]) -> Optional[str]:
    """``bot.channels.wechat_kf.state``: KEFU_WXKF_STATE_URL, else KEFU_APP_DB_URL, else ``wxkf_state.db`` (the
    channel's ``state_url`` in credentials.yml overrides the variable there: give both the same value)."""
    return _rasa_store_url(env, "KEFU_WXKF_STATE_URL", "wxkf_state.db")


STORES: Dict[str, Store] = {
    store.name: store
    for store in (
        Store("console", "console: tickets, agents, leads, feedback, privacy, follow-ups", console_url),
        Store("store", "orders and stock (the demo store)", store_url),
        Store("knowledge", "knowledge base: unanswered questions, what supervisors taught", knowledge_url),
        Store("notifier", "notifier: notices, opt-outs, order watches", notifier_url),
        Store("verification", "order verification lockout", verification_url),
        Store("wechat_outbox", "WeChat / WeCom outbox of late replies (the Rasa process)", wechat_outbox_url),
        Store("wechat_kf", "微信客服 sync cursors, message ledger, sessions (the Rasa process)", wechat_kf_url),
    )
}
