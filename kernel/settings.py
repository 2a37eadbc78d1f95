"""Kefu's runtime settings: documented defaults, overridden by the environment.

Every variable here is listed in docs/configuration.md. ``make run`` works with
no environment at all; production sets its own values.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parent.parent

#: Development defaults. Secrets here are public, for a laptop only.
DEFAULTS: Dict[str, str] = {
    "KEFU_HOST": "127.0.0.1",
    "KEFU_RASA_PORT": "5005",
    "KEFU_ACTION_PORT": "5055",
    "KEFU_CONSOLE_PORT": "8080",
    "KEFU_NOTIFIER_PORT": "5056",
    "KEFU_VAR_DIR": "var",
    "KEFU_MODEL": "models/kefu.tar.gz",
    # Rasa's SQL tracker store (SQLite file, relative to the project root).
    "KEFU_TRACKER_DB": "var/tracker.db",
    # Rasa's SQL event broker: every conversation event, tailed by the console.
    "KEFU_EVENTS_DB": "var/events.db",
    # WeChat Official Account and WeCom (docs/wechat.md). Development values: the
    # webhooks answer (signatures, encryption) but WeChat's API rejects the AppID.
    "WECHAT_TOKEN": "kefu-dev-token",
    "WECHAT_APPID": "wx_kefu_dev_appid",
    "WECHAT_APPSECRET": "kefu-dev-appsecret",
    "WECHAT_AES_KEY": "kefuDevEncodingAESKey0123456789abcdefghijkl",
    "WECHAT_API_BASE": "https://api.weixin.qq.com",
    "WECOM_CORP_ID": "ww_kefu_dev_corp",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "kefu-dev-wecom-secret",
    "WECOM_TOKEN": "kefu-dev-wecom-token",
    "WECOM_AES_KEY": "kefuDevWeComEncodingAESKey0123456789abcdefg",
    # Empty: de-duplication and the token cache stay in the process. Scale-out: a Redis URL.
    "KEFU_WECHAT_REDIS_URL": "",
}


#: Secrets every process must agree on: environment variable -> file in the var dir
#: where a development value is generated once (mode 600) when the variable is unset.
SECRETS: Dict[str, str] = {
    "KEFU_RASA_TOKEN": "rasa_token",  # Rasa HTTP API
    "KEFU_CONSOLE_SERVICE_TOKEN": "console_service_token",  # action server -> console
    "KEFU_CONSOLE_SECRET": "console_secret",  # console session signing
    "KEFU_WEB_TOKEN_SECRET": "web_token_secret",  # signed web-user tokens (widget metadata)
    "KEFU_SESSION_SECRET": "session_secret",  # signed widget session ids (socket.io channel, history)
}


def var_dir_of(environ: Mapping[str, str]) -> Path:
    path = Path(environ.get("KEFU_VAR_DIR") or DEFAULTS["KEFU_VAR_DIR"])
    return path if path.is_absolute() else ROOT / path


def persisted_secret(var_dir: Path, variable: str, environ: Mapping[str, str], create: bool = True) -> str:
    """``environ[variable]``, else the value kept in the var dir, generated once when ``create``."""
    value = environ.get(variable)
    if value:
        return value
    path = var_dir / SECRETS[variable]
    if path.exists():
        return path.read_text().strip()
    if not create:
        return ""
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


def rasa_token(var_dir: Path, environ: Mapping[str, str]) -> str:
    """The Rasa HTTP API token: from KEFU_RASA_TOKEN, else generated once and kept."""
    return persisted_secret(var_dir, "KEFU_RASA_TOKEN", environ)


def resolve(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The full environment for Kefu's processes."""
    environ = dict(os.environ if environ is None else environ)
    env = {**DEFAULTS, **{k: v for k, v in environ.items() if k in DEFAULTS}}
    var_dir = var_dir_of(env)
    for variable in SECRETS:
        env[variable] = persisted_secret(var_dir, variable, environ)
    host = env["KEFU_HOST"]
    env["KEFU_ACTION_URL"] = environ.get("KEFU_ACTION_URL") or f"http://{host}:{env['KEFU_ACTION_PORT']}/webhook"
    env["KEFU_RASA_URL"] = environ.get("KEFU_RASA_URL") or f"http://{host}:{env['KEFU_RASA_PORT']}"
    env["KEFU_CONSOLE_URL"] = environ.get("KEFU_CONSOLE_URL") or f"http://{host}:{env['KEFU_CONSOLE_PORT']}"
    env.setdefault("KEFU_CONSOLE_DB_URL", environ.get("KEFU_CONSOLE_DB_URL") or f"sqlite:///{var_dir / 'console.db'}")
    return {**environ, **env}
