"""Parse WeChat / WeCom XML safely and build the XML replies.

Parsing uses defusedxml with DTDs forbidden: an XXE or billion-laughs payload
is refused before any entity is expanded or fetched. Everything here is pure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from kernel.text import clean_text

#: WeChat posts a few hundred bytes; anything near this is not a WeChat message.
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class MalformedXML(ValueError):
    """Not well-formed XML, or not a WeChat message: answer 400."""


class ForbiddenXML(MalformedXML):
    """XML with a DTD, entity declarations or external references: refused unexpanded."""


def parse_xml(body: bytes | str) -> Dict[str, str]:
    """The flat ``<xml>`` document as ``{tag: text}``; nested elements are ignored.

    Raises :class:`ForbiddenXML` for DTDs/entities and :class:`MalformedXML`
    for anything that is not a well-formed ``<xml>`` root.
    """
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body.strip():
        raise MalformedXML("empty body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise ForbiddenXML(f"refused XML construct: {type(error).__name__}") from None
    except (ParseError, ValueError, UnicodeError) as error:
        raise MalformedXML(f"not well-formed XML: {error}") from None
    if root.tag != "xml":
        raise MalformedXML(f"root element is <{root.tag}>, expected <xml>")
    return {child.tag: (child.text or "") for child in root if isinstance(child.tag, str)}


def parse_clean_xml(body: bytes | str) -> Tuple[Dict[str, str], int]:
    """:func:`parse_xml` after removing poison: ``(fields, characters removed)``.

    Invalid UTF-8 becomes lone surrogates (``surrogateescape``), which :func:`kernel.text.clean_text`
    removes together with NUL and control characters; what the customer typed otherwise stays.
    Field values are cleaned again after parsing (character references such as ``&#xFFFE;``).
    """
    text = body.decode("utf-8", errors="surrogateescape") if isinstance(body, bytes) else body
    cleaned = clean_text(text)
    removed = len(text) - len(cleaned)
    fields = parse_xml(cleaned)
    for name, value in fields.items():
        if not value:
            continue
        clean_value = clean_text(value)
        if clean_value != value:
            removed += len(value) - len(clean_value)
            fields[name] = clean_value
    return fields, removed


@dataclass(frozen=True)
class InboundMessage:
    """One decrypted message or event from WeChat / WeCom."""

    to_user: str
    from_user: str
    create_time: str
    msg_type: str
    msg_id: str = ""
    content: str = ""
    event: str = ""
    event_key: str = ""
    recognition: str = ""
    media_id: str = ""
    pic_url: str = ""
    agent_id: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> InboundMessage:
        if not fields.get("FromUserName") or not fields.get("MsgType"):
            raise MalformedXML("FromUserName or MsgType missing")
        return cls(
            to_user=fields.get("ToUserName", ""),
            from_user=fields["FromUserName"].strip(),
            create_time=fields.get("CreateTime", "").strip(),
            msg_type=fields["MsgType"].strip().lower(),
            msg_id=fields.get("MsgId", "").strip(),
            content=fields.get("Content", ""),
            event=fields.get("Event", "").strip(),
            event_key=fields.get("EventKey", "").strip(),
            recognition=fields.get("Recognition", "").strip(),
            media_id=fields.get("MediaId", "").strip(),
            pic_url=fields.get("PicUrl", "").strip(),
            agent_id=fields.get("AgentID", "").strip(),
            fields=dict(fields),
        )

    def dedup_key(self) -> str:
        """MsgId for messages; FromUserName + CreateTime (+ event name) for events.

        The event name is part of the key because WeChat may push, e.g., a
        LOCATION report in the same second as a menu CLICK.
        """
        if self.msg_id:
            return f"msg:{self.msg_id}"
        return f"evt:{self.from_user}:{self.create_time}:{self.event.lower()}"


def _cdata(value: str) -> str:
    # "]]>" cannot appear inside CDATA: split it across two sections.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply_xml(to_user: str, from_user: str, content: str, create_time: Optional[int] = None) -> str:
    """A passive text reply (ToUserName is the customer, FromUserName the account)."""
    return (
        "<xml>"
        f"<ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time if create_time is not None else time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_envelope_xml(encrypt: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    return (
        "<xml>"
        f"<Encrypt>{_cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{_cdata(msg_signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{_cdata(nonce)}</Nonce>"
        "</xml>"
    )


# -- outgoing text ------------------------------------------------------------
#: Passive replies and customer-service text messages: WeChat truncates past 2048 bytes.
MAX_TEXT_BYTES = 2048
#: Customer-service messages one bot turn may push (WeChat counts them per user interaction).
MAX_API_MESSAGES_PER_TURN = 5


def split_text(text: str, max_bytes: int = MAX_TEXT_BYTES) -> List[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes.

    Cuts prefer a line break, then a space, in the second half of a piece;
    characters (emoji included) are never split.
    """
    text = text.strip()
    pieces: List[str] = []
    while text:
        if len(text.encode("utf-8")) <= max_bytes:
            pieces.append(text)
            break
        size, cut = 0, 0
        for index, char in enumerate(text):
            size += len(char.encode("utf-8"))
            if size > max_bytes:
                cut = index
                break
        window = text[:cut]
        for separator in ("\n", " "):
            at = window.rfind(separator)
            if at >= cut // 2:
                cut = at + 1
                break
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return [p for p in pieces if p]


def pack_texts(texts: Sequence[str], max_messages: int, max_bytes: int = MAX_TEXT_BYTES) -> List[str]:
    """Split over-long texts, then join neighbours while there are more than ``max_messages``."""
    pieces = [piece for text in texts for piece in split_text(text, max_bytes)]
    if len(pieces) <= max_messages:
        return pieces
    packed: List[str] = []
    for piece in pieces:
        if packed and len((packed[-1] + "\n\n" + piece).encode("utf-8")) <= max_bytes:
            packed[-1] = packed[-1] + "\n\n" + piece
        else:
            packed.append(piece)
    return packed


@dataclass(frozen=True)
class RenderedText:
    """A bot message as WeChat text, with the payloads of its numbered menu."""

    text: str
    menu: Tuple[str, ...] = ()


def numbered_menu(text: str, buttons: Sequence[Mapping[str, Any]]) -> RenderedText:
    lines = [text.strip()] if text and text.strip() else []
    payloads: List[str] = []
    for button in buttons:
        title = str(button.get("title") or button.get("payload") or "").strip()
        if not title:
            continue
        payloads.append(str(button.get("payload") or title))
        lines.append(f"{len(payloads)}. {title}")
    return RenderedText("\n".join(lines), tuple(payloads))


def render_bot_message(message: Mapping[str, Any]) -> Optional[RenderedText]:
    """Rasa's bot message dict as one WeChat text; ``None`` when it has nothing to show."""
    text = str(message.get("text") or "")
    buttons = message.get("buttons") or message.get("quick_replies") or []
    rendered = numbered_menu(text, buttons) if buttons else RenderedText(text.strip())
    extras: List[str] = []
    if message.get("image"):
        extras.append(str(message["image"]))
    if message.get("attachment"):
        attachment = message["attachment"]
        extras.append(str(attachment.get("payload", {}).get("src", "")) if isinstance(attachment, dict) else str(attachment))
    custom = message.get("custom")
    if isinstance(custom, Mapping) and isinstance(custom.get("text"), str):
        extras.append(custom["text"])
    for element in message.get("elements") or []:
        if isinstance(element, Mapping):
            extras.append(" : ".join(str(element.get(k)) for k in ("title", "subtitle") if element.get(k)))
    body = "\n".join(part for part in [rendered.text, *[e for e in extras if e]] if part)
    return RenderedText(body, rendered.menu) if body else None


_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def menu_choice(text: str, payloads: Sequence[str]) -> Optional[str]:
    """The payload chosen by a bare number ("2", "２", "2.") from the last menu, if any."""
    candidate = text.strip().translate(_DIGITS).rstrip(".、)）")
    if candidate.isdigit() and payloads:
        index = int(candidate)
        if 1 <= index <= len(payloads):
            return payloads[index - 1]
    return None
