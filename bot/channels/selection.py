"""Which input channels the Rasa server opens: ``KEFU_CHANNELS``.

``KEFU_CHANNELS`` is a comma-separated list of channel names (:data:`CHANNELS`):

- ``webchat``: the web widget, socket.io (:mod:`bot.channels.socketio`); no settings of its own;
- ``rest``: ``POST /webhooks/rest/webhook`` (:mod:`bot.channels.rest`); no settings of its own;
- ``wechat``: WeChat Official Account: ``WECHAT_TOKEN``, ``WECHAT_APPID``, ``WECHAT_APPSECRET``;
- ``wecom``: WeCom app: ``WECOM_CORP_ID``, ``WECOM_AGENT_ID``, ``WECOM_SECRET``, ``WECOM_TOKEN``,
  ``WECOM_AES_KEY``;
- ``wechat_kf`` (or ``wxkf``): 微信客服: ``WXKF_CORP_ID``, ``WXKF_SECRET``, ``WXKF_TOKEN``,
  ``WXKF_AES_KEY``, ``WXKF_OPEN_KFIDS``.

When it is set, :func:`apply` (called by ``python -m bot.server run`` before anything else) writes
a copy of the ``--credentials`` file that holds only the enabled channels' entries (entries of
channels Kefu does not know, added by the operator, are kept) and points Rasa at it; Rasa then never
reads a disabled channel's ``${VAR}``, so an operator with only the web widget sets no WeChat value
at all. A channel that is enabled without its settings stops the server with one message naming
every missing variable (exit status 78, ``EX_CONFIG``, as :mod:`kernel.secrets`); an unknown name
in the list does too. Unset (or blank), every channel of the credentials file is opened, as before:
``make run`` starts them all with its development values (kernel/settings.py).

The copy keeps the entries' text as it is (``${VAR}`` stays a plain scalar, which is what Rasa
substitutes), in a private temporary file removed at exit; it holds no secret value.

Stdlib and PyYAML only: imported by the Rasa process and by the deployment tests (Python 3.11).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

ENV = "KEFU_CHANNELS"
#: Exit status of a refused start: EX_CONFIG, as kernel/secrets.py.
EXIT_STATUS = 78
#: The longest piece of a bad value a message quotes.
_QUOTE_LIMIT = 60


@dataclass(frozen=True)
class Channel:
    """One channel: its entry in the credentials file and the keys it cannot start without.

    ``required`` maps each key to the environment variable the channel reads when the entry does
    not give the key (None: the entry must give it, as ``${VAR}`` or a literal)."""

    entry: str
    required: Mapping[str, Optional[str]] = field(default_factory=dict)


#: Kefu's channels by name. The required keys are the channels' own (tests/bot/channels/
#: test_channel_selection_rasa.py holds them to bot.channels.wechat's Kind.required and
#: bot.channels.wechat_kf's REQUIRED).
CHANNELS: Dict[str, Channel] = {
    "webchat": Channel("bot.channels.socketio.KefuSocketIOInput"),
    "rest": Channel("bot.channels.rest.KefuRestInput"),
    "wechat": Channel("bot.channels.wechat.WeChatInput", {"token": None, "appid": None, "appsecret": None}),
    "wecom": Channel(
        "bot.channels.wechat.WeComInput",
        {"corp_id": None, "agent_id": None, "secret": None, "token": None, "aes_key": None},
    ),
    "wechat_kf": Channel(
        "bot.channels.wechat_kf.WeChatKfInput",
        {
            "corp_id": "WXKF_CORP_ID",
            "secret": "WXKF_SECRET",
            "token": "WXKF_TOKEN",
            "aes_key": "WXKF_AES_KEY",
            "open_kfids": "WXKF_OPEN_KFIDS",
        },
    ),
}
#: Other names operators use for a channel.
ALIASES: Dict[str, str] = {"socketio": "webchat", "wxkf": "wechat_kf"}

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: A top-level key of a block-style YAML mapping: ``name:`` at column 0, maybe a value after it.
_TOP_LEVEL_KEY = re.compile(r"""^(?P<key>[^\s#'"{\[\-][^:#]*?)\s*:(?:\s|$)""")


class ChannelSettingsError(Exception):
    """``KEFU_CHANNELS`` or the credentials file cannot give the channels asked for."""


def _quote(value: str) -> str:
    text = value if len(value) <= _QUOTE_LIMIT else value[:_QUOTE_LIMIT] + "..."
    return repr(text)


def requested(environ: Mapping[str, str]) -> Optional[List[str]]:
    """The channel names ``KEFU_CHANNELS`` enables, in :data:`CHANNELS` order; None when unset or
    blank (every channel of the credentials file). :class:`ChannelSettingsError` on an unknown name."""
    raw = environ.get(ENV, "")
    parts = [part.strip().lower() for part in raw.split(",")]
    parts = [part for part in parts if part]
    if not parts:
        return None
    unknown = [part for part in parts if part not in CHANNELS and part not in ALIASES]
    if unknown:
        raise ChannelSettingsError(
            f"{ENV} names unknown channel(s) {', '.join(_quote(u) for u in dict.fromkeys(unknown))}; "
            f"the channels are {', '.join(CHANNELS)}"
        )
    wanted = {ALIASES.get(part, part) for part in parts}
    return [name for name in CHANNELS if name in wanted]


def blocks(text: str) -> Tuple[str, List[Tuple[str, str]]]:
    """(the text before the first entry, [(entry name, its text)]) of a credentials file."""
    head: List[str] = []
    out: List[Tuple[str, List[str]]] = []
    for line in text.splitlines(keepends=True):
        match = _TOP_LEVEL_KEY.match(line)
        if match:
            # the comment lines just above an entry describe it: they go with it
            previous = out[-1][1] if out else head
            lead: List[str] = []
            while len(previous) > 1 and previous[-1].lstrip().startswith("#") and not previous[-1].startswith(" "):
                lead.insert(0, previous.pop())
            out.append((match.group("key").strip(), [*lead, line]))
        elif out:
            out[-1][1].append(line)
        else:
            head.append(line)
    return "".join(head), [(name, "".join(lines)) for name, lines in out]


def _entries(text: str, source: str) -> Dict[str, object]:
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ChannelSettingsError(f"{source} is not valid YAML: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ChannelSettingsError(f"{source} must be a mapping of channel entries")
    return {str(key): value for key, value in loaded.items()}


def _resolved(value: object, environ: Mapping[str, str]) -> Tuple[str, List[str]]:
    """(the value with ``${VAR}`` substituted as Rasa does, the variables it references)."""
    if value is None:
        return "", []
    text = str(value)
    names = _REFERENCE.findall(text)
    return _REFERENCE.sub(lambda m: environ.get(m.group(1), ""), text).strip(), names


def missing_settings(channel: str, entry: object, environ: Mapping[str, str], source: str) -> List[str]:
    """What ``channel`` lacks to start, as variable names (or ``key in FILE`` for a literal key)."""
    given = entry if isinstance(entry, dict) else {}
    out: List[str] = []
    for key, variable in CHANNELS[channel].required.items():
        value, names = _resolved(given.get(key), environ)
        if value:
            continue
        if names:
            out.extend(names)
        elif variable and not str(environ.get(variable, "")).strip():
            out.append(variable)
        elif not variable:
            out.append(f"{key} (in {source})")
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class Selection:
    """The credentials text for the enabled channels, and what each enabled channel lacks."""

    text: str
    enabled: List[str]
    missing: Dict[str, List[str]]


def select(text: str, enabled: Sequence[str], environ: Mapping[str, str], source: str = "credentials.yml") -> Selection:
    """Keep the entries of ``enabled`` channels (and of channels Kefu does not know) in ``text``."""
    entries = _entries(text, source)
    head, found = blocks(text)
    if sorted(name for name, _ in found) != sorted(entries):
        raise ChannelSettingsError(
            f"cannot pick channels out of {source}: write each channel as a top-level `name:` line "
            f"(block style, one entry per channel)"
        )
    known = {CHANNELS[name].entry: name for name in CHANNELS}
    absent = [name for name in enabled if CHANNELS[name].entry not in entries]
    if absent:
        raise ChannelSettingsError(
            f"{ENV} enables {', '.join(absent)} but {source} has no entry for "
            f"{', '.join(CHANNELS[name].entry for name in absent)}"
        )
    kept = [block for name, block in found if name not in known or known[name] in enabled]
    missing = {}
    for name in enabled:
        lacking = missing_settings(name, entries[CHANNELS[name].entry], environ, source)
        if lacking:
            missing[name] = lacking
    return Selection(head + "".join(kept), list(enabled), missing)


def _option(args: Sequence[str], name: str) -> Optional[str]:
    found: Optional[str] = None
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(name + "="):
            found = arg[len(name) + 1 :]
    return found


def _with_credentials(args: Sequence[str], path: str) -> List[str]:
    out: List[str] = []
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
            continue
        if arg == "--credentials" and index + 1 < len(args):
            skip = True
            continue
        if arg.startswith("--credentials="):
            continue
        out.append(arg)
    return [*out, "--credentials", path]


def message(enabled: Sequence[str], missing: Mapping[str, Sequence[str]]) -> str:
    lines = [
        f"kefu rasa: refusing to start: channel(s) enabled by {ENV} lack their settings (values not shown):",
        *(f"  - {name}: {', '.join(names)}" for name, names in missing.items()),
        f"Set them (docs/wechat.md, docs/configuration.md) or take the channel out of {ENV} "
        f"(now: {','.join(enabled)}).",
    ]
    return "\n".join(lines)


def _emit(level: str, text: str, environ: Mapping[str, str]) -> None:
    if (environ.get("KEFU_LOG_FORMAT") or "text").strip().lower() == "json":
        text = json.dumps(
            {"level": level, "service": "rasa", "logger": "bot.channels.selection", "message": text}, ensure_ascii=False
        )
    print(text, file=sys.stderr, flush=True)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def prepare(
    rasa_args: Sequence[str],
    environ: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    tmp_dir: Optional[str] = None,
) -> List[str]:
    """``rasa_args`` with ``--credentials`` pointing at a copy that holds only the enabled channels;
    ``rasa_args`` unchanged when ``KEFU_CHANNELS`` is unset. :class:`ChannelSettingsError` when the
    list or the file is wrong or an enabled channel lacks settings."""
    env = os.environ if environ is None else environ
    enabled = requested(env)
    if enabled is None:
        return list(rasa_args)
    given = _option(rasa_args, "--credentials") or "credentials.yml"
    path = Path(given)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ChannelSettingsError(f"{ENV} is set but the credentials file {given} cannot be read: {error}") from None
    selection = select(text, enabled, env, given)
    if selection.missing:
        raise ChannelSettingsError(message(enabled, selection.missing))
    handle, copy = tempfile.mkstemp(prefix="kefu-credentials-", suffix=".yml", dir=tmp_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(selection.text)
    atexit.register(_remove, copy)
    return _with_credentials(rasa_args, copy)


def apply(rasa_args: Sequence[str], environ: Optional[Mapping[str, str]] = None) -> List[str]:
    """:func:`prepare` for ``python -m bot.server run``: on an error, one message and exit 78."""
    env = os.environ if environ is None else environ
    try:
        args = prepare(rasa_args, env)
    except ChannelSettingsError as error:
        text = str(error)
        if not text.startswith("kefu rasa:"):
            text = f"kefu rasa: refusing to start: {text}"
        _emit("CRITICAL", text, env)
        raise SystemExit(EXIT_STATUS) from None
    enabled = requested(env)
    if enabled is not None:
        _emit("INFO", f"kefu rasa: channels {', '.join(enabled)} ({ENV})", env)
    return args
