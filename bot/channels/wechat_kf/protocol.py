"""The 微信客服 protocol as data: the callback event, the messages of ``kf/sync_msg`` and the
errcodes of ``kf/send_msg``. Pure: no I/O.

Sources (docs/wechat.md, "微信客服", lists what is documented and what is assumed):
WeCom 接收消息和事件 (developer.work.weixin.qq.com/document/path/94670), 发送消息 (94677/96427),
分配客服会话 (94698) and the global error codes (90455).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, Mapping, Optional

from bot.channels.wechat.messages import InboundMessage

CALLBACK_EVENT = "kf_msg_or_event"

#: ``origin`` of a synced message.
ORIGIN_CUSTOMER = 3  # sent by the WeChat customer
ORIGIN_SYSTEM = 4  # an event pushed by the system
ORIGIN_SERVICER = 5  # sent by a servicer from the WeCom client

#: ``kf/service_state`` values (94698).
STATE_UNHANDLED = 0
STATE_ASSISTANT = 1
STATE_QUEUED = 2
STATE_SERVICER = 3
STATE_ENDED = 4

#: ``session_status_change.change_type``: 1 taken from the pool, 2 transferred, 3 ended,
#: 4 an ended or transferred session taken up again by a servicer.
CHANGE_TAKEN, CHANGE_TRANSFERRED, CHANGE_ENDED, CHANGE_REOPENED = 1, 2, 3, 4

#: ``kf/send_msg`` will never deliver this message: no retry (the row ends ``failed``, an agent
#: reply is reported to the console as ``kefu_undeliverable:<errcode>``).
REFUSED_ERRCODES: FrozenSet[int] = frozenset(
    {
        95000,  # invalid open_kfid
        95001,  # over the limit: 5 messages per customer message
        95002,  # over the time limit: 48 hours after the customer's last message
        95004,  # open_kfid does not exist
        95013,  # the session has ended
        95018,  # the session's state does not allow API messages (a WeCom servicer has it)
        40003,  # invalid external_userid
        45002,  # content too long
        44003,  # empty content
    }
)

#: ``msg_send_fail.fail_type`` (94670).
FAIL_TYPES: Mapping[int, str] = {
    0: "unknown",
    1: "account deleted",
    2: "app closed",
    4: "session expired (48 hours)",
    5: "session closed",
    6: "over the 5-message limit",
    7: "no channels account bound",
    8: "entity not verified",
    9: "no channels account bound and entity not verified",
    10: "the customer refused the message",
}


@dataclass(frozen=True)
class CallbackEvent:
    """The decrypted callback: something new for ``open_kfid``; ``token`` lets sync_msg run
    without the strict rate limit (10 minutes)."""

    corp_id: str
    create_time: str
    token: str
    open_kfid: str

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> Optional[CallbackEvent]:
        """The event, or None for any other callback (nothing to pull)."""
        if fields.get("MsgType", "").strip().lower() != "event":
            return None
        if fields.get("Event", "").strip() != CALLBACK_EVENT:
            return None
        return cls(
            corp_id=fields.get("ToUserName", "").strip(),
            create_time=fields.get("CreateTime", "").strip(),
            token=fields.get("Token", "").strip(),
            open_kfid=fields.get("OpenKfId", "").strip(),
        )


@dataclass(frozen=True)
class KfMessage:
    """One entry of ``msg_list``."""

    msgid: str
    open_kfid: str
    external_userid: str
    send_time: int
    origin: int
    msgtype: str
    raw: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KfMessage:
        event = data.get("event") if isinstance(data.get("event"), dict) else {}
        # events carry the account and the customer inside ``event``
        return cls(
            msgid=str(data.get("msgid") or ""),
            open_kfid=str(data.get("open_kfid") or event.get("open_kfid") or ""),
            external_userid=str(data.get("external_userid") or event.get("external_userid") or ""),
            send_time=_int(data.get("send_time")),
            origin=_int(data.get("origin")),
            msgtype=str(data.get("msgtype") or "").lower(),
            raw=dict(data),
        )

    def part(self, name: str) -> Dict[str, Any]:
        value = self.raw.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def event_type(self) -> str:
        return str(self.part("event").get("event_type") or "") if self.msgtype == "event" else ""

    @property
    def from_customer(self) -> bool:
        return self.origin == ORIGIN_CUSTOMER and bool(self.external_userid) and bool(self.msgid)

    def inbound(self) -> InboundMessage:
        """The same message as the Official Account channel sees one, so that its decisions
        (:func:`bot.channels.wechat.turns.decide`) and texts apply: text → the bot, voice →
        asks to type, image → acknowledged, anything else → a polite text."""
        media = self.part(self.msgtype)
        return InboundMessage(
            to_user=self.open_kfid,
            from_user=self.external_userid,
            create_time=str(self.send_time),
            msg_type=self.msgtype,
            msg_id=self.msgid,
            content=str(self.part("text").get("content") or "") if self.msgtype == "text" else "",
            media_id=str(media.get("media_id") or ""),
        )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
