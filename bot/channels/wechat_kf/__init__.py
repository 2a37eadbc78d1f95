"""微信客服 (WeChat Customer Service) channel for Rasa: for Rasa and tests, never for actions/ or console/.

``credentials.yml`` names it ``bot.channels.wechat_kf.WeChatKfInput``; it is off unless its
``WXKF_*`` settings are present. docs/wechat.md ("微信客服") explains the setup.
"""

from bot.channels.wechat_kf.channel import WeChatKfInput, WeChatKfOutput

__all__ = ["WeChatKfInput", "WeChatKfOutput"]
