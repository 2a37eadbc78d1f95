"""WeChat Official Account and WeCom connectors (Rasa input/output channels).

``credentials.yml`` names them ``bot.channels.wechat.WeChatInput`` and
``bot.channels.wechat.WeComInput``; docs/wechat.md explains the setup.
"""

from bot.channels.wechat.channel import WeChatInput, WeChatOutput, WeComInput, WeComOutput

__all__ = ["WeChatInput", "WeChatOutput", "WeComInput", "WeComOutput"]
