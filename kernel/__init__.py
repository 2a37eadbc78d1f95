"""Kefu's shared kernel: small contracts every process may import (Rasa channels, action server, console, launcher).

It imports nothing from the rest of Kefu and nothing outside the standard library, so it runs unchanged
in both virtualenvs (Rasa's Python 3.10 and the app's Python 3.11).
"""
