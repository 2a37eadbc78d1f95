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
- ``KEFU_CONSOLE_DEMO_ACCOUNTS`` [false]: seed the demo accounts (console/demo/accounts.yml) at startup
  (``make run`` sets true); when false, demo accounts still holding their published password are deactivated
  at startup
- ``KEFU_CONSOLE_TAIL_INTERVAL`` [0.2]: seconds between polls of the events table when idle
- ``KEFU_CONSOLE_TAIL_MAX_TRIES`` [3]: failed tries before an event goes to the dead-letter table
- ``KEFU_CONSOLE_TAIL_LAG_SECONDS`` [60]: the tail counts as lagging (``/health`` degraded) when it has been
  behind the events table, or has not polled, for this long
- ``KEFU_CONSOLE_DEAD_LETTER_WINDOW`` [3600]: ``/health`` stays degraded this long after a dead-lettered event
- ``KEFU_CONSOLE_REDIS_URL`` [``KEFU_RATE_LIMIT_REDIS_URL``, else empty = in-process]: login rate limits
- ``KEFU_CONSOLE_LOGIN_IP_LIMIT`` [30], ``KEFU_CONSOLE_LOGIN_USER_LIMIT`` [10],
  ``KEFU_CONSOLE_LOGIN_WINDOW`` [300]: login attempts per client IP and failed logins per username in a
  sliding window of that many seconds; more answer 429 with Retry-After
- ``KEFU_CONSOLE_TRUSTED_PROXIES`` [empty]: comma-separated proxy addresses or networks whose X-Forwarded-For is believed
- ``KEFU_CONSOLE_STREAM_CHECK_SECONDS`` [5]: how often an open live stream re-checks its session
- ``KEFU_LEAD_WEBHOOK_URL`` [``presales.webhook.url``]: where lead events are POSTed (docs/presales.md); unset and
  no URL in the config: the events are kept in the outbox, not sent
- ``KEFU_LEAD_WEBHOOK_SECRET`` (the variable ``presales.webhook.secret_env`` names): the webhook's HMAC key,
  required when a URL is set
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from console.queueing import CALENDAR, CLOCKS, STAFFED_HOURS
from console.routing.presence import RoutingConfigError, RoutingSettings
from kernel.netaddr import parse_proxies
from kernel.settings import persisted_secret

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
    tail_max_tries: int = 3
    tail_lag_seconds: float = 60.0
    dead_letter_window: float = 3600.0
    redis_url: str = ""
    login_ip_limit: int = 30
    login_user_limit: int = 10
    login_window: float = 300.0
    trusted_proxies: Tuple[Any, ...] = ()  # networks (kernel.netaddr.parse_proxies)
    stream_check_seconds: float = 5.0
    lead_webhook_url: str = ""
    lead_webhook_secret: str = ""

    @property
    def teams(self) -> List[str]:
        """The active teams' ids: console/config.yml's until the console database was read, then the database's
        (console/admin/directory.py keeps ``config["teams"]`` and ``config["routing"]`` current)."""
        return [t["id"] for t in self.config["teams"] if t.get("active", True)]

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


def demo_accounts_enabled(environ: Optional[Mapping[str, str]] = None) -> bool:
    """``KEFU_CONSOLE_DEMO_ACCOUNTS``: the demo logins are seeded (``make run``), else deactivated."""
    env = os.environ if environ is None else environ
    return _flag(env.get("KEFU_CONSOLE_DEMO_ACCOUNTS"), False)


def _positive(env: Mapping[str, str], name: str, default: Any, kind: type) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be greater than 0")
    return value


def load_config(path: Optional[Path] = None) -> Dict[str, Any]:
    path = path or CONFIG_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping")
    for key in ("sla", "staffed_hours", "eta", "routing", "priority", "teams", "resolutions"):
        if key not in data:
            raise SettingsError(f"{path}: missing section {key!r}")
    sla = data["sla"] = dict(data["sla"] or {})
    sla.setdefault("first_response_clock", STAFFED_HOURS)  # the defaults live here, once
    sla.setdefault("complaint_resolve_clock", CALENDAR)
    for clock in ("first_response_clock", "complaint_resolve_clock"):
        value = sla[clock]
        if value not in CLOCKS:
            raise SettingsError(f"{path}: sla.{clock} is {value!r}; use one of {', '.join(CLOCKS)}")
    teams = {t["id"] for t in data["teams"]}
    for category, team in data["routing"].items():
        if team not in teams:
            raise SettingsError(f"{path}: routing {category} -> unknown team {team!r}")
    data["presales"] = _presales(path, data.get("presales"), teams)
    try:  # presence and automatic assignment (console/routing), with the defaults filled
        data["assignment"] = RoutingSettings.from_config(data.get("assignment"), f"{path}: assignment").to_json()
    except RoutingConfigError as error:
        raise SettingsError(str(error)) from None
    return data


PRESALES_WEBHOOK_DEFAULTS: Dict[str, Any] = {
    "url": None, "secret_env": "KEFU_LEAD_WEBHOOK_SECRET", "max_attempts": 12,
    "backoff_seconds": [5, 30, 120, 600, 3600], "timeout_seconds": 10, "lease_seconds": 60, "poll_seconds": 1,
}


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def _presales(path: Path, raw: Any, teams: set) -> Dict[str, Any]:
    """The ``presales`` section (lead routing and webhook), checked, with the defaults filled."""
    where = f"{path}: presales"
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise SettingsError(f"{where} must be a mapping")
    unknown = sorted(set(raw) - {"routing", "webhook"})
    if unknown:
        raise SettingsError(f"{where}: unknown key(s) {', '.join(unknown)}; use routing, webhook")
    rules = raw.get("routing") or []
    if not isinstance(rules, list):
        raise SettingsError(f"{where}.routing must be a list of rules like {{product_line: cups_bottles, team: presales}}")
    for n, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise SettingsError(f"{where}.routing[{n}] must be a mapping")
        extra = sorted(set(rule) - {"product_line", "region", "team"})
        if extra:
            raise SettingsError(f"{where}.routing[{n}]: unknown key(s) {', '.join(extra)}; "
                                "a rule has product_line and/or region, and team")
        if not any(k in rule for k in ("product_line", "region")):
            raise SettingsError(f"{where}.routing[{n}] needs product_line or region")
        if any(k in rule and not (isinstance(rule[k], str) and rule[k]) for k in ("product_line", "region")):
            raise SettingsError(f"{where}.routing[{n}]: product_line and region must be non-empty strings")
        if rule.get("team") not in teams:
            raise SettingsError(f"{where}.routing[{n}] -> unknown team {rule.get('team')!r}; "
                                f"teams: {', '.join(sorted(teams))}")
    webhook = raw.get("webhook") or {}
    if not isinstance(webhook, dict):
        raise SettingsError(f"{where}.webhook must be a mapping")
    extra = sorted(set(webhook) - set(PRESALES_WEBHOOK_DEFAULTS))
    if extra:
        raise SettingsError(f"{where}.webhook: unknown key(s) {', '.join(extra)}")
    webhook = {**PRESALES_WEBHOOK_DEFAULTS, **webhook}
    url = webhook["url"]
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise SettingsError(f"{where}.webhook.url must be null or an http(s) URL, not {url!r}")
    if not (isinstance(webhook["secret_env"], str) and webhook["secret_env"]):
        raise SettingsError(f"{where}.webhook.secret_env must name an environment variable")
    attempts = webhook["max_attempts"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise SettingsError(f"{where}.webhook.max_attempts must be a whole number of at least 1")
    backoff = webhook["backoff_seconds"]
    if not isinstance(backoff, list) or not backoff or not all(_number(v) for v in backoff):
        raise SettingsError(f"{where}.webhook.backoff_seconds must be a non-empty list of positive numbers")
    for key in ("timeout_seconds", "lease_seconds", "poll_seconds"):
        if not _number(webhook[key]):
            raise SettingsError(f"{where}.webhook.{key} must be a positive number")
    if webhook["lease_seconds"] <= webhook["timeout_seconds"]:
        raise SettingsError(f"{where}.webhook.lease_seconds must be longer than timeout_seconds "
                            "(a lease must outlive the request it covers)")
    return {"routing": rules, "webhook": webhook}


def _lead_webhook(config: Dict[str, Any], env: Mapping[str, str]) -> Tuple[str, str]:
    webhook = config["presales"]["webhook"]
    url = (env.get("KEFU_LEAD_WEBHOOK_URL") or webhook["url"] or "").strip()
    secret = env.get(webhook["secret_env"]) or ""
    if url and not url.startswith(("http://", "https://")):
        raise SettingsError(f"KEFU_LEAD_WEBHOOK_URL={url!r} is not an http(s) URL")
    if url and not secret:
        raise SettingsError(f"the lead webhook URL is set but {webhook['secret_env']} is empty: "
                            "the events must be signed (docs/presales.md)")
    return url, secret


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
        numbers = {
            "tail_max_tries": _positive(env, "KEFU_CONSOLE_TAIL_MAX_TRIES", 3, int),
            "tail_lag_seconds": _positive(env, "KEFU_CONSOLE_TAIL_LAG_SECONDS", 60.0, float),
            "dead_letter_window": _positive(env, "KEFU_CONSOLE_DEAD_LETTER_WINDOW", 3600.0, float),
            "login_ip_limit": _positive(env, "KEFU_CONSOLE_LOGIN_IP_LIMIT", 30, int),
            "login_user_limit": _positive(env, "KEFU_CONSOLE_LOGIN_USER_LIMIT", 10, int),
            "login_window": _positive(env, "KEFU_CONSOLE_LOGIN_WINDOW", 300.0, float),
            "stream_check_seconds": _positive(env, "KEFU_CONSOLE_STREAM_CHECK_SECONDS", 5.0, float),
        }
    except ValueError as error:
        raise SettingsError(f"bad number in the environment: {error}") from error
    config = load_config(Path(config_path) if config_path else None)
    webhook_url, webhook_secret = _lead_webhook(config, env)
    proxies = tuple(parse_proxies(env.get("KEFU_CONSOLE_TRUSTED_PROXIES") or "", "KEFU_CONSOLE_TRUSTED_PROXIES"))
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
        demo_accounts=demo_accounts_enabled(env),
        tail_interval=tail_interval,
        config=config,
        lead_webhook_url=webhook_url,
        lead_webhook_secret=webhook_secret,
        redis_url=env.get("KEFU_CONSOLE_REDIS_URL") or env.get("KEFU_RATE_LIMIT_REDIS_URL") or "",
        trusted_proxies=proxies,
        **numbers,
    )


def load_canned(path: Path = CANNED_FILE) -> List[Dict[str, Any]]:
    """Canned responses with all three languages filled (Traditional from Simplified via OpenCC)."""
    from kernel.i18n import to_traditional

    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        text = dict(item["text"])
        text.setdefault("zh-Hant", to_traditional(text["zh-Hans"]))
        title = dict(item["title"])
        title.setdefault("zh-Hant", to_traditional(title["zh-Hans"]))
        out.append({"id": item["id"], "title": title, "text": text})
    return out
