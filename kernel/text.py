"""Poison-free text: what every public channel does to a customer's message before anything else.

A NUL byte cannot be stored in a PostgreSQL ``text`` column, a lone surrogate cannot be encoded as
UTF-8, and control characters break logs and terminals. :func:`clean_text` removes all three and
keeps everything a person types (letters of every script, emoji, tabs and line breaks).
"""

from __future__ import annotations

import re

# C0 controls except tab, line feed and carriage return; DEL and the C1 controls; lone surrogates;
# the two non-characters at the end of every plane that some decoders emit for broken input.
_POISON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """``text`` without NUL, control characters (other than tab and line breaks) or lone surrogates."""
    return _POISON.sub("", text)


def is_clean(text: str) -> bool:
    return _POISON.search(text) is None
