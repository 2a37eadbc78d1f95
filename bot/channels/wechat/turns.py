"""What to do with one inbound WeChat message: pure decisions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from bot.channels.wechat.messages import InboundMessage

#: Menu CLICK keys and the Rasa message each one sends (configurable in credentials.yml).
DEFAULT_CLICK_INTENTS: Mapping[str, str] = {
    "ORDER_STATUS": "/order_status",
    "TALK_TO_HUMAN": "/human_handoff",
}

BOT = "bot"  # run a bot turn with ``text``
LOCAL = "local"  # answer with the channel's own text ``key`` (bot/responses/wechat.yml)
UNSUBSCRIBE = "unsubscribe"  # record it; nothing to answer
SUBSCRIBE = "subscribe"  # welcome (``key``) and clear an earlier unsubscribe
IGNORE = "ignore"  # answer ``success``: events that need no reply (VIEW, LOCATION, ...)


@dataclass(frozen=True)
class Decision:
    kind: str
    text: str = ""
    key: str = ""
    #: Text for the bot when a person owns the conversation and a local answer would interrupt.
    forward: str = ""


def decide(message: InboundMessage, click_intents: Mapping[str, str]) -> Decision:
    kind = message.msg_type
    if kind == "text":
        content = message.content.strip()
        if content:
            return Decision(BOT, text=content)
        return Decision(LOCAL, key="msg_wechat_unsupported", forward="")
    if kind == "voice":
        if message.recognition:
            return Decision(BOT, text=message.recognition)
        return Decision(LOCAL, key="msg_wechat_voice_unrecognised", forward="voice")
    if kind == "image":
        return Decision(LOCAL, key="msg_wechat_image", forward="image")
    if kind == "event":
        event = message.event.lower()
        if event == "subscribe":
            return Decision(SUBSCRIBE, key="msg_wechat_welcome")
        if event == "unsubscribe":
            return Decision(UNSUBSCRIBE)
        if event == "click":
            intent = click_intents.get(message.event_key)
            if intent:
                return Decision(BOT, text=intent)
            return Decision(LOCAL, key="msg_wechat_unknown_menu")
        return Decision(IGNORE)
    return Decision(LOCAL, key="msg_wechat_unsupported", forward=kind[:20] or "unknown")
