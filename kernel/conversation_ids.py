"""Conversation ids scoped by channel: which channel a conversation belongs to is part of its id.

Rasa keys a conversation (its tracker, its lock, the console's ticket) by the sender id a channel
passes in. When every channel used the caller's own id, a REST caller who sent ``sender`` equal to
a customer's WeChat openid spoke into that customer's WeChat conversation. Every public channel
now builds its conversation ids here, with a prefix that names the channel:

=================  ==========================================  ==============================
channel            conversation id                             who chooses the part after it
=================  ==========================================  ==============================
REST               ``rest:<sender>``                           the caller (untrusted)
socket.io widget   ``web:<session id>``                        the server (issued and signed)
WeChat OA          ``wechat:<openid>``                         WeChat (signed message)
WeCom              ``wecom:<corp id>:<userid>``                WeCom (signed message)
微信客服           ``wxkf:<open_kfid>:<external_userid>``       WeCom (pulled with kf/sync_msg)
=================  ==========================================  ==============================

A prefix is followed by a colon; the rest is opaque here. An id without a known prefix is a
*legacy* id from before the scoping (see docs/security.md for the migration): :func:`split`
returns ``(None, id)`` for it, and nothing treats a legacy id as a channel identity.
"""

from __future__ import annotations

from typing import Optional, Tuple

REST = "rest"
WEB = "web"
WECHAT = "wechat"
WECOM = "wecom"
WXKF = "wxkf"

#: Rasa input channel name -> conversation id prefix.
PREFIX_BY_CHANNEL = {"rest": REST, "socketio": WEB, "wechat": WECHAT, "wecom": WECOM, "wxkf": WXKF}
PREFIXES = frozenset(PREFIX_BY_CHANNEL.values())
SEPARATOR = ":"


def scoped(prefix: str, *parts: str) -> str:
    """``scoped("wecom", "ww1", "zhangsan")`` → ``"wecom:ww1:zhangsan"``.

    Every part must be a non-empty string; only the last part may contain the separator
    (a REST sender is the caller's free text, so it may).
    """
    if prefix not in PREFIXES:
        raise ValueError(f"unknown conversation id prefix {prefix!r}")
    if not parts or any(not isinstance(p, str) or not p for p in parts):
        raise ValueError("conversation id parts must be non-empty strings")
    if any(SEPARATOR in p for p in parts[:-1]):
        raise ValueError(f"only the last part of a conversation id may contain {SEPARATOR!r}")
    return SEPARATOR.join((prefix, *parts))


def split(conversation_id: Optional[str]) -> Tuple[Optional[str], str]:
    """``"wechat:oABC"`` → ``("wechat", "oABC")``; a legacy or unknown id → ``(None, id)``."""
    text = conversation_id or ""
    prefix, sep, rest = text.partition(SEPARATOR)
    if sep and prefix in PREFIXES and rest:
        return prefix, rest
    return None, text


def rest_id(sender: str) -> str:
    return scoped(REST, sender)


def web_id(session_id: str) -> str:
    return scoped(WEB, session_id)


def wechat_id(openid: str) -> str:
    return scoped(WECHAT, openid)


def wecom_id(corp_id: str, userid: str) -> str:
    return scoped(WECOM, corp_id, userid)


def wxkf_id(open_kfid: str, external_userid: str) -> str:
    """微信客服 (WeChat Customer Service): the customer ``external_userid`` talking to the account ``open_kfid``."""
    return scoped(WXKF, open_kfid, external_userid)


def channel_identity(conversation_id: Optional[str]) -> Optional[Tuple[str, str]]:
    """The (channel, external id) a conversation id proves, for identity binding, or None.

    ``wechat:<openid>`` → ``("wechat", openid)``; ``wecom:<corp>:<userid>`` → ``("wecom", userid)``.
    REST and web ids prove nothing about who is typing, and legacy ids are never trusted.
    """
    prefix, rest = split(conversation_id)
    if prefix == WECHAT:
        return WECHAT, rest
    if prefix == WECOM:
        corp, sep, userid = rest.partition(SEPARATOR)
        return (WECOM, userid) if sep and corp and userid else None
    return None


def is_scoped(conversation_id: Optional[str]) -> bool:
    return split(conversation_id)[0] is not None
