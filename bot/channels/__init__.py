"""Kefu's Rasa input channels (REST, socket.io, WeChat/WeCom): for Rasa and tests, never for actions/ or console/."""
