"""WeChat Official Account and WeCom channels (Rasa input/output): for Rasa and tests, never for actions/ or console/.

``credentials.yml`` names them ``bot.channels.wechat.WeChatInput`` and
``bot.channels.wechat.WeComInput``; docs/wechat.md explains the setup.
:class:`DeliveryRefused` (``kefu_undeliverable:<errcode>``) is what the output channels raise
when WeChat will not deliver a message.
"""

from bot.channels.wechat.channel import WeChatInput, WeChatOutput, WeComInput, WeComOutput
from bot.channels.wechat.delivery import MARKER, DeliveryRefused, WrongRecipient

__all__ = ["MARKER", "DeliveryRefused", "WeChatInput", "WeChatOutput", "WeComInput", "WeComOutput", "WrongRecipient"]
