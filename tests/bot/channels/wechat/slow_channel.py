"""A test-only WeChat channel whose bot is slow: it exercises WeChat's 5-second rule against a real Rasa.

Loaded by the Rasa server of tests/bot/channels/wechat (test_conformance) through credentials.yml, in place of
``bot.channels.wechat.WeChatInput`` (same name, same URL)::

    tests.bot.channels.wechat.slow_channel.SlowWeChatInput:
      ...                     # the Official Account's usual keys
      bot_delay: 6            # seconds every bot turn waits before the bot sees the message
      bot_delay_for: o_slow   # only openids that start with this (empty: every openid)

The product channel has no such switch: the delay wraps the ``on_new_message`` Rasa hands to the
blueprint, so the endpoint runs exactly as in production and only the bot answers late.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint

from bot.channels.wechat.channel import WeChatInput
from kernel.conversation_ids import split

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class SlowWeChatInput(WeChatInput):
    bot_delay: float = 0.0
    bot_delay_for: str = ""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        credentials = dict(credentials or {})
        delay = float(credentials.pop("bot_delay", 0) or 0)
        prefix = str(credentials.pop("bot_delay_for", "") or "")
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SlowWeChatInput)
        channel.bot_delay, channel.bot_delay_for = delay, prefix
        return channel

    def slow(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """``on_new_message`` after ``bot_delay`` seconds for the users it applies to."""

        async def delayed(message: UserMessage) -> Any:
            user = split(message.sender_id)[1]
            if self.bot_delay > 0 and user.startswith(self.bot_delay_for):
                await asyncio.sleep(self.bot_delay)
            return await on_new_message(message)

        return delayed

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        return super().blueprint(self.slow(on_new_message))
