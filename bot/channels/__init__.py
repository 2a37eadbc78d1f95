"""Kefu's custom Rasa input channels (siblings of Rasa's own telegram.py)."""
