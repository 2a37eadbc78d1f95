"""Startup refuses placeholder or weak secrets, outside the embedded demo.

Kefu ships values that are public on purpose: the development defaults of ``make run``
(kernel/settings.py: ``kefu-dev-token``, the dev EncodingAESKeys), the ``change-me-...`` lines of
deploy/env.example and the ``EXAMPLE-...`` values of deploy/k8s/secret.yaml. A deployment that
forgets to replace one of them runs with a secret anybody can read on GitHub: forged WeChat
signatures, decrypted WeChat messages, a Rasa HTTP API (every conversation, and the power to speak
as the bot) open to whoever guesses ``change-me-rasa-api-token``. Such a process must not start.

:func:`enforce` checks, before a process serves anything, the secrets that *this* process really
uses (the Rasa server: its HTTP API token, the socket.io session secret, every ``${VAR}`` its
``--credentials`` and ``--endpoints`` files reference, so WeChat's values only when the WeChat
channel is configured; the action server and the console: their own). A secret is refused when it

- is a known public value (the development defaults, the examples) or looks like a placeholder
  (``change-me``, ``EXAMPLE``/``example``, ``replace``, ``placeholder``, ``kefu-dev``...);
- is shorter than :data:`MIN_LENGTH` characters, or has fewer than :data:`MIN_DISTINCT` different
  characters (``aaaaaaaaaaaaaaaa``);
- is an EncodingAESKey that is not 43 letters and digits (WeChat's format);
- is the password inside a database or Redis URL and looks like a placeholder.

Unset or empty variables are not this module's business: the shared secrets then fall back to a
random value generated once in the var dir (kernel/settings.py), and the channels report their
own missing credentials. Nothing is refused when ``KEFU_DEMO=true`` (the embedded demo: ``make
run`` and the test stacks set it; docker-compose and Kubernetes never do); the process then prints
one warning line instead. The message names every offending variable and why, never its value, and
the process exits with status 78 (``EX_CONFIG``).

Stdlib only: imported by the Rasa process (Python 3.10), the action server, the console and the
launcher.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

DEMO_ENV = "KEFU_DEMO"
#: Exit status of a refused start: EX_CONFIG from sysexits.h ("configuration error").
EXIT_STATUS = 78
MIN_LENGTH = 16
MIN_DISTINCT = 6
AES_KEY_LENGTH = 43
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")

#: What kind of value each secret is.
TOKEN = "token"  # placeholder, length and variety rules
AES_KEY = "aes_key"  # placeholder rules and WeChat's 43-character format
EXTERNAL = "external"  # a token somebody else issues (format unknown): placeholder rules only
URL = "url"  # a database or Redis URL: the placeholder rules on its password

SECRET_KINDS: Dict[str, str] = {
    # shared by Kefu's processes (kernel/settings.py SECRETS)
    "KEFU_RASA_TOKEN": TOKEN,
    "KEFU_CONSOLE_SERVICE_TOKEN": TOKEN,
    "KEFU_CONSOLE_SECRET": TOKEN,
    "KEFU_WEB_TOKEN_SECRET": TOKEN,
    "KEFU_SESSION_SECRET": TOKEN,
    "KEFU_REDIS_PASSWORD": TOKEN,
    # WeChat Official Account and WeCom (credentials.yml)
    "WECHAT_TOKEN": TOKEN,
    "WECHAT_APPSECRET": TOKEN,
    "WECHAT_AES_KEY": AES_KEY,
    "WECOM_SECRET": TOKEN,
    "WECOM_TOKEN": TOKEN,
    "WECOM_AES_KEY": AES_KEY,
    # 微信客服 (bot/channels/wechat_kf: read from the environment by the channel itself)
    "WXKF_SECRET": TOKEN,
    "WXKF_TOKEN": TOKEN,
    "WXKF_AES_KEY": AES_KEY,
    # the seller's order API
    "KEFU_STORE_HTTP_TOKEN": EXTERNAL,
    # URLs that carry passwords
    "KEFU_TRACKER_DB_URL": URL,
    "KEFU_EVENTS_DB_URL": URL,
    "KEFU_CONSOLE_DB_URL": URL,
    "KEFU_APP_DB_URL": URL,
    "KEFU_STORE_DB_URL": URL,
    "KEFU_SOCKETIO_REDIS_URL": URL,
    "KEFU_WECHAT_REDIS_URL": URL,
    "KEFU_RATE_LIMIT_REDIS_URL": URL,
    "KEFU_CONSOLE_REDIS_URL": URL,
}

#: The secrets each process reads from its environment (the Rasa server also every variable its
#: credentials and endpoints files reference). "launcher" is ``make run``: all of them.
PROCESS_SECRETS: Dict[str, Tuple[str, ...]] = {
    "rasa": (
        "KEFU_RASA_TOKEN", "KEFU_SESSION_SECRET", "KEFU_SOCKETIO_REDIS_URL", "KEFU_RATE_LIMIT_REDIS_URL",
    ),
    "actions": (
        "KEFU_CONSOLE_SERVICE_TOKEN", "KEFU_WEB_TOKEN_SECRET", "KEFU_STORE_HTTP_TOKEN",
        "KEFU_STORE_DB_URL", "KEFU_APP_DB_URL",
    ),
    "notifier": ("KEFU_RASA_TOKEN", "KEFU_STORE_HTTP_TOKEN", "KEFU_STORE_DB_URL", "KEFU_APP_DB_URL"),
    "console": (
        "KEFU_CONSOLE_SECRET", "KEFU_CONSOLE_SERVICE_TOKEN", "KEFU_RASA_TOKEN", "KEFU_SESSION_SECRET",
        "KEFU_CONSOLE_DB_URL", "KEFU_EVENTS_DB_URL", "KEFU_APP_DB_URL",
        "KEFU_CONSOLE_REDIS_URL", "KEFU_RATE_LIMIT_REDIS_URL",
    ),
}
PROCESSES: FrozenSet[str] = frozenset({*PROCESS_SECRETS, "launcher"})

#: Values published with Kefu: kernel/settings.py DEFAULTS, deploy/env.example,
#: deploy/k8s/secret.yaml (tests/kernel/test_secrets.py keeps this list complete).
PUBLIC_VALUES: FrozenSet[str] = frozenset({
    "kefu-dev-token",
    "kefu-dev-appsecret",
    "kefuDevEncodingAESKey0123456789abcdefghijkl",
    "kefu-dev-wecom-secret",
    "kefu-dev-wecom-token",
    "kefuDevWeComEncodingAESKey0123456789abcdefg",
})

#: Lower-case fragments no real secret contains.
PLACEHOLDER_MARKERS: Tuple[str, ...] = (
    "change-me", "change_me", "changeme", "example", "replace", "placeholder",
    "kefu-dev", "kefu_dev", "kefudev", "your-", "your_", "secret-here", "dummy",
)

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Channels that read their secrets from the environment themselves (no ``${VAR}`` in the
#: credentials file): their entry in the file stands for these variables.
CHANNEL_ENVIRONMENT: Dict[str, Tuple[str, ...]] = {
    "bot.channels.wechat_kf.WeChatKfInput": ("WXKF_SECRET", "WXKF_TOKEN", "WXKF_AES_KEY"),
}


@dataclass(frozen=True)
class Problem:
    """One refused secret: the variable (or option) and why, never the value."""

    variable: str
    reason: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.reason}"


def is_demo(environ: Optional[Mapping[str, str]] = None) -> bool:
    """``KEFU_DEMO`` is true: the embedded demo on one machine, public development secrets allowed."""
    value = (environ if environ is not None else os.environ).get(DEMO_ENV, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return value in PUBLIC_VALUES or any(marker in lowered for marker in PLACEHOLDER_MARKERS)


def problem_with(variable: str, value: str, kind: Optional[str] = None) -> Optional[str]:
    """Why ``value`` is not acceptable for ``variable``, or None. Empty values are not checked."""
    value = value.strip()
    if not value:
        return None
    kind = kind or SECRET_KINDS.get(variable, TOKEN)
    if kind == URL:
        password = _url_password(value)
        if password and _placeholder(password):
            return "the password in this URL is a placeholder or a published example"
        return None
    if _placeholder(value):
        return "a placeholder or a value published with Kefu (development default or example)"
    if kind == AES_KEY:
        if not _AES_KEY.match(value):
            return f"an EncodingAESKey must be exactly {AES_KEY_LENGTH} letters and digits"
        if len(set(value)) < MIN_DISTINCT:
            return "too little variety for a key: generate a random one"
        return None
    if kind == EXTERNAL:
        return None
    if len(value) < MIN_LENGTH:
        return f"shorter than {MIN_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT:
        return f"fewer than {MIN_DISTINCT} different characters"
    return None


def _url_password(url: str) -> str:
    try:
        return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")
    except ValueError:
        return ""


def _option(args: Sequence[str], name: str) -> Optional[str]:
    """The value of ``--name value`` or ``--name=value`` in ``args`` (the last one wins)."""
    found: Optional[str] = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(name + "="):
            found = arg[len(name) + 1:]
    return found


def referenced_variables(path: Path) -> Set[str]:
    """The ``${VAR}`` names a Rasa YAML file uses, comment lines left out (a commented-out channel
    uses nothing), and the variables of a channel of :data:`CHANNEL_ENVIRONMENT` it names. A missing
    or unreadable file references nothing: Rasa reports it itself."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return set()
    names: Set[str] = set()
    for line in text.splitlines():
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#"):
            continue
        names.update(_REFERENCE.findall(code))
        entry = code.split(":", 1)[0].strip()
        if not code.startswith((" ", "\t")) and entry in CHANNEL_ENVIRONMENT:
            names.update(CHANNEL_ENVIRONMENT[entry])
    return names


def rasa_config_variables(rasa_args: Sequence[str], cwd: Optional[Path] = None) -> Set[str]:
    """The variables referenced by the ``--credentials`` and ``--endpoints`` files of a Rasa command
    line (Rasa's defaults ``credentials.yml`` and ``endpoints.yml``, relative to ``cwd``)."""
    base = cwd or Path.cwd()
    names: Set[str] = set()
    for option, default in (("--credentials", "credentials.yml"), ("--endpoints", "endpoints.yml")):
        path = Path(_option(rasa_args, option) or default)
        names |= referenced_variables(path if path.is_absolute() else base / path)
    return names


def variables_of(process: str, rasa_args: Sequence[str] = (), cwd: Optional[Path] = None) -> List[str]:
    """The secrets ``process`` uses, in a stable order."""
    if process not in PROCESSES:
        raise ValueError(f"unknown process {process!r}; one of {sorted(PROCESSES)}")
    names: List[str] = []
    wanted = list(PROCESS_SECRETS) if process == "launcher" else [process]
    for name in wanted:
        names.extend(PROCESS_SECRETS[name])
    if "rasa" in wanted:
        names.extend(sorted(v for v in rasa_config_variables(rasa_args, cwd) if v in SECRET_KINDS))
    return list(dict.fromkeys(names))


def problems(
    process: str,
    environ: Optional[Mapping[str, str]] = None,
    rasa_args: Sequence[str] = (),
    cwd: Optional[Path] = None,
) -> List[Problem]:
    """Every refused secret of ``process`` (whatever ``KEFU_DEMO`` says)."""
    env = os.environ if environ is None else environ
    found: List[Problem] = []
    for variable in variables_of(process, rasa_args, cwd):
        reason = problem_with(variable, env.get(variable, ""))
        if reason:
            found.append(Problem(variable, reason))
    token = _option(rasa_args, "--auth-token")
    if token is not None and token != env.get("KEFU_RASA_TOKEN", ""):
        reason = problem_with("KEFU_RASA_TOKEN", token) if token.strip() else "empty: the HTTP API would be open"
        if reason:
            found.append(Problem("--auth-token (Rasa HTTP API token)", reason))
    return found


def message(process: str, found: Sequence[Problem]) -> str:
    lines = [
        f"kefu {process}: refusing to start: {len(found)} secret(s) are placeholders, published values or too weak "
        f"(values not shown):",
        *(f"  - {problem}" for problem in found),
        "Set each to a random value of your own (for example `openssl rand -hex 32`; WeChat/WeCom values come "
        "from their admin pages, an EncodingAESKey is 43 letters and digits). docs/security.md, \"Secrets\".",
        f"Only the embedded demo on a laptop may run with them: {DEMO_ENV}=true.",
    ]
    return "\n".join(lines)


def _emit(process: str, level: str, text: str, environ: Mapping[str, str]) -> None:
    if (environ.get("KEFU_LOG_FORMAT") or "text").strip().lower() == "json":
        text = json.dumps({"level": level, "service": process, "logger": "kernel.secrets", "message": text},
                          ensure_ascii=False)
    print(text, file=sys.stderr, flush=True)


def enforce(
    process: str,
    rasa_args: Sequence[str] = (),
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
) -> None:
    """Exit with status 78 and a clear message when ``process`` would start with a refused secret,
    unless ``KEFU_DEMO=true``. Call it first thing, before the process serves anything."""
    env = os.environ if environ is None else environ
    found = problems(process, env, rasa_args, cwd)
    if not found:
        return
    if is_demo(env):
        names = ", ".join(p.variable for p in found)
        _emit(process, "WARNING", f"kefu {process}: {DEMO_ENV}=true: running with public development secrets "
                                  f"({names}); never expose this to the internet", env)
        return
    _emit(process, "CRITICAL", message(process, found), env)
    raise SystemExit(EXIT_STATUS)
