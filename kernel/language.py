"""Language and script detection, and length-preserving text normalisation.

Kefu speaks Simplified Chinese (``zh-Hans``), Traditional Chinese (``zh-Hant``)
and English (``en``).  This module is pure Python (standard library plus the
OpenCC character tables) so that the Rasa NLU components, the action server and
the knowledge base all detect and normalise text the same way.

``normalise`` keeps the length of the text unchanged, character for character,
so token offsets computed on the normalised text are valid on the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, Optional, Tuple

SIMPLIFIED = "zh-Hans"
TRADITIONAL = "zh-Hant"
ENGLISH = "en"
#: Chinese with no script-specific character ("你好", "可以"): keep the script
#: the conversation already uses.
CHINESE_UNKNOWN_SCRIPT = "zh"
LANGUAGES: Tuple[str, ...] = (SIMPLIFIED, TRADITIONAL, ENGLISH)
DEFAULT_LANGUAGE = SIMPLIFIED

# Latin tokens that carry no language signal on their own: Chinese customers
# type them all the time ("ok", "kk"), and order numbers or SKUs are codes.
_NEUTRAL_LATIN = frozenset({"ok", "okk", "okay", "kk", "k", "ohh", "oh", "emm", "em", "hmm", "sku"})
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_CODE_LIKE = re.compile(r"^(?:kf\d*|[a-z]{1,2}\d+[a-z\d]*)$", re.IGNORECASE)


def _opencc_dictionary_dir() -> Path:
    import opencc  # opencc-python-reimplemented ships the character tables

    return Path(opencc.__file__).resolve().parent / "dictionary"


def _read_table(name: str) -> Dict[str, Tuple[str, ...]]:
    table: Dict[str, Tuple[str, ...]] = {}
    with open(_opencc_dictionary_dir() / name, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and len(parts[0]) == 1:
                table[parts[0]] = tuple(parts[1].split(" "))
    return table


@dataclass(frozen=True)
class _Tables:
    to_simplified: Dict[str, str]
    traditional_only: FrozenSet[str]
    simplified_only: FrozenSet[str]


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    ts = _read_table("TSCharacters.txt")  # traditional -> simplified
    st = _read_table("STCharacters.txt")  # simplified -> traditional
    to_simplified = {t: s[0] for t, s in ts.items() if len(s[0]) == 1 and s[0] != t}
    traditional_only = frozenset(c for c in to_simplified if c not in st)
    simplified_only = frozenset(
        c for c, trad in st.items() if c not in ts and c not in trad and len(c) == 1
    )
    return _Tables(to_simplified, traditional_only, simplified_only)


def _half_width(char: str) -> str:
    code = ord(char)
    if code == 0x3000:
        return " "
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    return char


def normalise(text: str) -> str:
    """Full-width to half-width, Traditional to Simplified, lower case.

    The result has exactly as many characters as ``text``.
    """
    to_simplified = _tables().to_simplified
    out = []
    for char in text:
        char = _half_width(char)
        char = to_simplified.get(char, char)
        lower = char.lower()
        out.append(lower if len(lower) == 1 else char)
    return "".join(out)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF


@dataclass(frozen=True)
class Detection:
    """What one message says about its language.

    ``language`` is ``zh-Hans``, ``zh-Hant``, ``en``, ``zh`` (Chinese whose
    script cannot be told from this message) or ``None`` (no signal at all:
    emoji, digits, "ok", an order number).
    """

    language: Optional[str]
    cjk_chars: int
    traditional_hits: int
    simplified_hits: int
    latin_words: int


def detect(text: str) -> Detection:
    """Detect the language and script of one customer message."""
    tables = _tables()
    cjk = trad = simp = 0
    for char in unicodedata.normalize("NFC", text or ""):
        if is_cjk(char):
            cjk += 1
            if char in tables.traditional_only:
                trad += 1
            elif char in tables.simplified_only:
                simp += 1
    words = [
        w
        for w in _LATIN_WORD.findall(text or "")
        if w.lower() not in _NEUTRAL_LATIN and not _CODE_LIKE.match(w)
    ]
    language: Optional[str]
    if cjk:
        if trad > simp:
            language = TRADITIONAL
        elif simp > trad:
            language = SIMPLIFIED
        else:
            language = CHINESE_UNKNOWN_SCRIPT
    elif words:
        language = ENGLISH
    else:
        language = None
    return Detection(language, cjk, trad, simp, len(words))


def resolve(detected: Optional[str], previous: Optional[str]) -> str:
    """The conversation's language after a message, given the one before.

    A message without a signal keeps the previous language; Chinese without a
    script keeps the previous Chinese script, or Simplified when the
    conversation was not in Chinese.
    """
    if detected in LANGUAGES:
        return detected
    if detected == CHINESE_UNKNOWN_SCRIPT:
        return previous if previous in (SIMPLIFIED, TRADITIONAL) else SIMPLIFIED
    return previous if previous in LANGUAGES else DEFAULT_LANGUAGE


def language_of_locale(value: object) -> Optional[str]:
    """The language a client says its user reads (the widget's ``metadata.language``, a browser locale such as
    ``en-GB``, ``zh-TW`` or ``zh-Hant-HK``), or None for anything else. Only a hint: what the customer writes wins."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    if value in LANGUAGES:
        return value
    tag = value.strip().lower().replace("_", "-")
    if tag == "en" or tag.startswith("en-"):
        return ENGLISH
    if tag == "zh" or tag.startswith("zh-"):
        parts = set(tag.split("-")[1:])
        return TRADITIONAL if parts & {"hant", "tw", "hk", "mo"} else SIMPLIFIED
    return None


# -- "say that in English", "可以用中文吗": the customer asks for another language --------------------------------
_ZH_TARGET = r"(?P<zh>中文|汉语|漢語|华语|華語|普通话|普通話|国语|國語|简体|簡體|简中|繁体|繁體|繁中|正体|正體)"
_EN_TARGET_ZH = r"(?P<en>英文|英语|英語)"
#: Chinese: a verb of saying or switching right before the language ("用中文回复", "换回中文", "說英文")
_ZH_REQUEST = re.compile(
    r"(?:用|说|說|讲|講|回复|回覆|回答|换成|換成|换回|換回|切回|切换成|切換成|切换到|切換到|改用|改回|翻译成|翻譯成|"
    r"转成|轉成|打)\s*(?:" + _ZH_TARGET + "|" + _EN_TARGET_ZH + r")(?!说明|說明|版|名|的说明|的說明)"
)
_EN_LANG = r"(?P<lang>traditional chinese|simplified chinese|english|chinese|mandarin|traditional|simplified)"
_PLEASE = r"(?:please|pls|plz)"
#: English: "say that in Chinese", "reply in chinese pls", "switch to English", "English again please"
_EN_REQUESTS = tuple(re.compile(pattern, re.IGNORECASE) for pattern in (
    r"(?<!i )(?<!we )\b(?:say|write|reply|answer|repeat|respond|put|translate|explain|type|tell me|show)\b"
    r"[^.?!]{0,40}?\b"
    r"(?:in|into)\s+" + _EN_LANG + r"\b",
    r"\b(?:speak|switch to|change to|switch back to|back to)\s+" + _EN_LANG + r"\b",
    r"^\W*(?:in\s+)?" + _EN_LANG + r"(?:\s+(?:again|instead))?(?:\s*,?\s*" + _PLEASE + r")?\W*$",
    r"\b(?:in\s+)?" + _EN_LANG + r"\s+(?:again\s+|instead\s+)?" + _PLEASE + r"\b",
))


def requested_language(text: Optional[str]) -> Optional[str]:
    """The language a message asks the bot to switch to, or None: "sorry can you say that in English?" → en,
    "可以用中文回复我吗" → zh-Hans (zh-Hant when the message itself is Traditional, or it asks for 繁體),
    "traditional chinese please" → zh-Hant. "你们有英文说明书吗" asks for a manual, not a language: None."""
    if not text or len(text) > 300:
        return None
    match = _ZH_REQUEST.search(text)
    if match:
        if match.group("en"):
            return ENGLISH
        target = match.group("zh")
        if target in ("繁体", "繁體", "繁中", "正体", "正體"):
            return TRADITIONAL
        if target in ("简体", "簡體", "简中"):
            return SIMPLIFIED
        return TRADITIONAL if detect(text).language == TRADITIONAL else SIMPLIFIED
    for pattern in _EN_REQUESTS:
        match = pattern.search(text)
        if match:
            named = match.group("lang").lower()
            if named == "english":
                return ENGLISH
            return TRADITIONAL if named.startswith("traditional") else SIMPLIFIED
    return None


def language_after(text: Optional[str], previous: Optional[str], hint: Optional[str] = None) -> str:
    """The language the bot should answer in after the customer said ``text``.

    Button payloads such as ``/human_handoff`` carry no language and keep it. A request for a language ("reply in
    chinese pls", "可以用英文吗") switches to that language, whatever the request itself is written in. ``hint`` is
    the language the client says its user reads (the widget sends it): it decides only a first message with no
    language of its own, such as a bare order number.
    """
    previous = previous or hint
    if not text or text.startswith("/"):
        return resolve(None, previous)
    asked = requested_language(text)  # "sorry can you say that in English?", "reply in chinese pls"
    if asked is not None:
        return asked
    return resolve(detect(text).language, previous)


def conversation_language(text: Optional[str], metadata: object, previous: Optional[str], wrote_before: bool) -> str:
    """The ``language`` slot after a customer's message (the slot's custom mapping, ``action_detect_language``).

    ``metadata.language`` is the client's locale hint. On the session's first message the slot's initial value
    (zh-Hans) is nobody's choice, so the hint replaces it; after that, the conversation's language does.
    """
    hint = language_of_locale(metadata.get("language")) if isinstance(metadata, dict) else None
    if hint and not wrote_before:
        previous = None
    return language_after(text, previous, hint)
