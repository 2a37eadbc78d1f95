"""微信客服 (WeChat Customer Service) input/output channel for Rasa: ``/webhooks/wxkf/webhook``.

``credentials.yml``::

    bot.channels.wechat_kf.WeChatKfInput:   # every value from the environment unless given here

The channel is **off** unless its settings are present (``WXKF_CORP_ID``, ``WXKF_SECRET``,
``WXKF_TOKEN``, ``WXKF_AES_KEY``, ``WXKF_OPEN_KFIDS``): a seller who does not use 微信客服 sets
nothing, the webhook then answers 404. Some but not all of them set is a start-up error naming
the missing ones.

How a message travels (docs/wechat.md, "微信客服"):

1. WeCom calls the webhook with the encrypted event ``kf_msg_or_event`` (signature, freshness,
   single use and decryption as for a WeCom app): the answer is ``success`` at once, and a pull of
   that account is scheduled with the event's ``Token``.
2. :class:`bot.channels.wechat_kf.sync.Syncer` pulls ``kf/sync_msg`` from the stored cursor and
   hands each customer message once to the bot, in the conversation
   ``wxkf:<open_kfid>:<external_userid>``; the bot's answer is written to the durable outbox and
   sent with ``kf/send_msg``.
3. Agent replies from Kefu's console come through Rasa's HTTP API (``output_channel`` ``latest``,
   i.e. ``wxkf``) and are sent with ``kf/send_msg`` too: the session stays with the API (states
   0/1) while Kefu's own console is the human side (docs/wechat.md says why).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Tuple

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import BodyTooLarge, read_body
from bot.channels.wechat.channel import (
    WECOM_API_BASE,
    RenderingOutput,
    WeChatOutput,
    channel_redis_url,
    open_stores,
    query_params,
)
from bot.channels.wechat.client import ApiError
from bot.channels.wechat.crypto import DecryptError, ForeignReceiverError, MessageCrypto, SignatureError
from bot.channels.wechat.delivery import DeliveryRefused, WrongRecipient, record_refusal
from bot.channels.wechat.delivery import install as install_delivery_reports
from bot.channels.wechat.messages import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_API_MESSAGES_PER_TURN,
    ForbiddenXML,
    MalformedXML,
    RenderedText,
    menu_choice,
    numbered_menu,
    pack_texts,
    parse_clean_xml,
    split_text,
)
from bot.channels.wechat.outbox import OUTBOX_URL_ENV, OutboxSender, OutboxSettings, open_outbox
from bot.channels.wechat.replay import InProcessReplayGuard, ReplayGuard, StaleRequest, check_timestamp, replay_key
from bot.channels.wechat.turns import BOT, IGNORE, LOCAL, SUBSCRIBE, Decision, decide
from bot.channels.wechat_kf.client import MAX_PAGE, KfClient, recipient, split_recipient
from bot.channels.wechat_kf.protocol import REFUSED_ERRCODES, CallbackEvent, KfMessage
from bot.channels.wechat_kf.state import STATE_URL_ENV, default_url, open_state
from bot.channels.wechat_kf.sync import Syncer
from kernel import i18n
from kernel.conversation_ids import WXKF, split, wxkf_id
from kernel.logs import conversation, mask_id

logger = logging.getLogger(__name__)

CHANNEL = "wxkf"
SUCCESS = "success"
DEFAULT_LANGUAGE = "zh-Hans"
#: How long a pull waits for the Rasa agent to be loaded after a start.
READY_TIMEOUT = 120.0

#: credentials.yml key -> environment variable; the first five switch the channel on.
SETTINGS: Dict[str, str] = {
    "corp_id": "WXKF_CORP_ID",
    "secret": "WXKF_SECRET",
    "token": "WXKF_TOKEN",
    "aes_key": "WXKF_AES_KEY",
    "open_kfids": "WXKF_OPEN_KFIDS",
    "api_base": "WXKF_API_BASE",
    "redis_url": "KEFU_WECHAT_REDIS_URL",
    "state_url": STATE_URL_ENV,
}
REQUIRED = ("corp_id", "secret", "token", "aes_key", "open_kfids")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class KfSettings:
    corp_id: str
    secret: str
    token: str
    aes_key: str
    open_kfids: Tuple[str, ...]
    api_base: str = WECOM_API_BASE
    redis_url: str = ""
    state_url: str = ""

    def __repr__(self) -> str:  # never show the secret, the token or the key
        return f"KfSettings(corp_id={self.corp_id!r}, open_kfids={self.open_kfids!r}, api_base={self.api_base!r})"


def settings_from(credentials: Optional[Mapping[str, Any]], environ: Optional[Mapping[str, str]] = None) -> Optional[KfSettings]:
    """The channel's settings: each key from credentials.yml, else its environment variable.
    None when none of the required ones is set (the channel is off); :class:`RasaException` when
    only some are, or when a value is malformed."""
    env = os.environ if environ is None else environ
    given = dict(credentials or {})
    values = {key: str(given.get(key) or env.get(var) or "").strip() for key, var in SETTINGS.items()}
    present = [key for key in REQUIRED if values[key]]
    if not present:
        return None
    missing = [SETTINGS[key] for key in REQUIRED if not values[key]]
    if missing:
        raise RasaException(f"{CHANNEL} channel: settings missing {missing} (set all of {list(REQUIRED)} or none)")
    open_kfids = tuple(dict.fromkeys(part.strip() for part in values["open_kfids"].split(",") if part.strip()))
    bad = [kfid for kfid in open_kfids if ":" in kfid]
    if bad:
        raise RasaException(f"{CHANNEL} channel: an open_kfid cannot contain ':' ({bad})")
    return KfSettings(
        corp_id=values["corp_id"], secret=values["secret"], token=values["token"], aes_key=values["aes_key"],
        open_kfids=open_kfids, api_base=values["api_base"] or WECOM_API_BASE, redis_url=values["redis_url"],
        state_url=values["state_url"],
    )


# -- output ---------------------------------------------------------------------
class WeChatKfOutput(WeChatOutput):
    """Bot and agent messages to a 微信客服 customer through ``kf/send_msg``.

    Conversation ids are ``wxkf:<open_kfid>:<external_userid>`` of one of this channel's accounts;
    any other id is refused (``kefu_undeliverable:wrong_channel``). A send WeCom refuses for good
    (:data:`bot.channels.wechat_kf.protocol.REFUSED_ERRCODES`: 48 hours, 5 messages, session
    state...) is recorded for the console's API request or raised; a passing failure goes to the
    durable outbox.
    """

    prefix = WXKF

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def __init__(self, client: KfClient, memory: Any, outbox: Optional[OutboxSender], open_kfids: Tuple[str, ...]) -> None:
        super().__init__(client, memory, outbox)
        self.open_kfids = frozenset(open_kfids)

    def conversation_id(self, user: str) -> str:
        return wxkf_id(*split_recipient(user))

    def user_of(self, recipient_id: str) -> str:
        """``wxkf:<open_kfid>:<external_userid>`` → the outbox recipient ``<open_kfid>:<external_userid>``."""
        prefix, rest = split(recipient_id)
        try:
            open_kfid, external_userid = split_recipient(rest)
        except ValueError:
            open_kfid = external_userid = ""
        if prefix != WXKF or open_kfid not in self.open_kfids or not external_userid:
            raise WrongRecipient(recipient_id, self.name(), "wxkf:<one of this channel's open_kfids>:<external_userid>")
        return recipient(open_kfid, external_userid)

    async def push(self, user: str, texts: List[str]) -> None:
        for index, piece in enumerate(texts):
            try:
                await self.client.send_text(user, piece)
            except ApiError as error:
                logger.error("wxkf.send_failed user=%s errcode=%s", mask_id(user), error.errcode)
                if error.errcode in REFUSED_ERRCODES:
                    record_refusal(DeliveryRefused(error.errcode, error.errmsg, self.name()))
                    return
                if self.outbox is None:
                    raise
                await self.outbox.put(user, texts[index:])
                logger.warning("wxkf.send_deferred user=%s to the outbox", mask_id(user))
                return


class KfTurnOutput(RenderingOutput):
    """The bot's messages of one turn, collected; written to the outbox when the turn is over."""

    def __init__(self, parent: WeChatKfOutput) -> None:
        self.parent = parent
        self.collected: List[str] = []

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def deliver(self, recipient_id: str, rendered: RenderedText) -> None:
        user = self.parent.user_of(recipient_id)
        if rendered.menu:
            await self.parent.memory.remember_menu(user, list(rendered.menu))
        self.collected.extend(split_text(rendered.text))


# -- the callback (no Sanic in here) ------------------------------------------------
@dataclass(frozen=True)
class HttpReply:
    status: int
    body: str


class CallbackEndpoint:
    """GET: URL verification (encrypted ``echostr``); POST: the encrypted ``kf_msg_or_event``."""

    def __init__(self, settings: KfSettings, crypto: MessageCrypto, replay_guard: ReplayGuard,
                 on_event: Callable[[CallbackEvent], None], max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.settings = settings
        self.crypto = crypto
        self.replay_guard = replay_guard
        self._local_replay = InProcessReplayGuard()
        self.on_event = on_event
        self.max_body_bytes = max_body_bytes

    def verify(self, query: Mapping[str, str]) -> HttpReply:
        try:
            plain = self.crypto.decrypt_checked(
                query.get("echostr", ""), query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
            check_timestamp(query.get("timestamp"))
        except (SignatureError, ForeignReceiverError) as error:
            logger.warning("wxkf.verify_refused reason=%s", error)
            return HttpReply(403, "forbidden")
        except DecryptError as error:
            logger.warning("wxkf.verify_malformed reason=%s", error)
            return HttpReply(400, "bad request")
        logger.info("wxkf.url_verified")
        return HttpReply(200, plain.decode("utf-8", errors="replace"))

    async def receive(self, query: Mapping[str, str], body: bytes) -> HttpReply:
        if len(body) > self.max_body_bytes:
            return HttpReply(413, "payload too large")
        try:
            if not (query.get("msg_signature") and query.get("timestamp") and query.get("nonce")):
                raise SignatureError("msg_signature, timestamp or nonce missing")
            encrypt = parse_clean_xml(body)[0].get("Encrypt", "")
            if not encrypt:
                raise MalformedXML("no Encrypt element")
            inner = self.crypto.decrypt_checked(encrypt, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
            check_timestamp(query.get("timestamp"))
            event = CallbackEvent.from_fields(parse_clean_xml(inner)[0])
        except StaleRequest as error:
            logger.warning("wxkf.refused reason=%s", error)
            return HttpReply(403, "forbidden: timestamp too far from the server clock")
        except (SignatureError, ForeignReceiverError) as error:
            logger.warning("wxkf.refused reason=%s", error)
            return HttpReply(403, "forbidden")
        except (ForbiddenXML, MalformedXML, DecryptError) as error:
            logger.warning("wxkf.malformed reason=%s", error)
            return HttpReply(400, "bad request")
        if not await self._first_use(query):
            logger.warning("wxkf.refused reason=replayed request")
            return HttpReply(403, "forbidden: replayed request")
        if event is None:
            logger.info("wxkf.callback_ignored (not kf_msg_or_event)")
            return HttpReply(200, SUCCESS)
        open_kfids = [event.open_kfid] if event.open_kfid else list(self.settings.open_kfids)
        for open_kfid in open_kfids:
            if open_kfid not in self.settings.open_kfids:
                logger.warning("wxkf.unknown_account open_kfid=%s ignored (not in WXKF_OPEN_KFIDS)", open_kfid)
                continue
            self.on_event(CallbackEvent(event.corp_id, event.create_time, event.token, open_kfid))
        return HttpReply(200, SUCCESS)

    async def _first_use(self, query: Mapping[str, str]) -> bool:
        key = replay_key(CHANNEL, query.get("timestamp") or "", query.get("nonce") or "", query.get("msg_signature") or "")
        try:
            return await self.replay_guard.first_use(key)
        except Exception as error:  # Redis down: this replica still refuses what it has seen
            logger.error("wxkf.replay_store_unavailable error=%s", type(error).__name__)
            return await self._local_replay.first_use(key)


# -- the bot side of one customer message ------------------------------------------
class Conversations:
    """Hands synced messages to Rasa and looks at its trackers (the agent is set at start-up)."""

    def __init__(self, output: WeChatKfOutput) -> None:
        self.output = output
        self.app: Any = None
        self.on_new_message: Optional[OnNewMessage] = None

    @property
    def agent(self) -> Any:
        return getattr(getattr(self.app, "ctx", None), "agent", None)

    async def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            agent = self.agent
            if self.on_new_message is not None and agent is not None and agent.is_ready():
                return True
            await asyncio.sleep(0.5)
        return False

    async def _tracker(self, sender_id: str) -> Any:
        agent = self.agent
        if agent is None or agent.tracker_store is None:
            raise RuntimeError("the Rasa agent is not loaded")
        return await agent.tracker_store.retrieve(sender_id)

    async def handled(self, message: KfMessage) -> bool:
        """Whether the conversation already has this message (a turn before a crash)."""
        tracker = await self._tracker(wxkf_id(message.open_kfid, message.external_userid))
        if tracker is None:
            return False
        wanted = _message_id(message)
        return any(getattr(event, "message_id", None) == wanted for event in tracker.events)

    async def _probe(self, sender_id: str) -> Tuple[str, bool]:
        try:
            tracker = await self._tracker(sender_id)
        except Exception as error:
            logger.warning("wxkf.tracker_unavailable error=%s", type(error).__name__)
            return DEFAULT_LANGUAGE, False
        if tracker is None:
            return DEFAULT_LANGUAGE, False
        return tracker.get_slot("language") or DEFAULT_LANGUAGE, tracker.is_paused()

    async def hand(self, message: KfMessage) -> None:
        """One customer message: a bot turn (its answer through the outbox), or the channel's own
        text for what the bot cannot read (images, files...)."""
        user = recipient(message.open_kfid, message.external_userid)
        sender_id = wxkf_id(message.open_kfid, message.external_userid)
        inbound = message.inbound()
        decision = decide(inbound, {})
        with conversation(sender_id):
            logger.info("wxkf.received user=%s type=%s decision=%s", mask_id(message.external_userid),
                        message.msgtype, decision.kind)
            if decision.kind == IGNORE:
                return
            language, paused = await self._probe(sender_id)
            if decision.kind == LOCAL and paused and decision.forward:
                # a person owns the conversation: show them what came in instead of answering
                decision = Decision(BOT, text=_forward_text(message, decision.forward, language))
            if decision.kind in (LOCAL, SUBSCRIBE):
                buttons = i18n.buttons(decision.key, language)
                body = i18n.text(decision.key, language)
                rendered = numbered_menu(body, buttons) if buttons else RenderedText(body)
                if rendered.menu:
                    await self.output.memory.remember_menu(user, list(rendered.menu))
                await self.output.queue(user, pack_texts(split_text(rendered.text), MAX_API_MESSAGES_PER_TURN))
                return
            await self._bot_turn(message, user, sender_id, decision.text)

    async def _bot_turn(self, message: KfMessage, user: str, sender_id: str, text: str) -> None:
        try:
            choice = menu_choice(text, await self.output.memory.menu(user))
            await self.output.memory.forget_menu(user)
        except Exception as error:
            logger.warning("wxkf.menu_unavailable error=%s", type(error).__name__)
            choice = None
        turn = KfTurnOutput(self.output)
        assert self.on_new_message is not None
        await self.on_new_message(UserMessage(
            text=choice or text,
            output_channel=turn,
            sender_id=sender_id,
            input_channel=CHANNEL,
            message_id=_message_id(message),
            metadata={CHANNEL: {"open_kfid": message.open_kfid, "external_userid": message.external_userid,
                                "msgid": message.msgid, "msg_type": message.msgtype}},
        ))
        # at most 5 API messages answer one customer message (kf/send_msg's limit)
        await self.output.queue(user, pack_texts(turn.collected, MAX_API_MESSAGES_PER_TURN))


def _message_id(message: KfMessage) -> str:
    return f"{CHANNEL}-{message.msgid}"


def _forward_text(message: KfMessage, kind: str, language: Optional[str]) -> str:
    media_id = str(message.part(message.msgtype).get("media_id") or "")
    if kind == "image":
        return i18n.text("msg_wechat_forwarded_image", language, url=f"media_id:{media_id}")
    return i18n.text("msg_wechat_forwarded_other", language, kind=kind)


# -- the Rasa input channel ------------------------------------------------------------------
class WeChatKfInput(InputChannel):
    """微信客服 at ``/webhooks/wxkf/webhook``; off (404) without its settings."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        return cls(settings_from(credentials))

    def __init__(self, settings: Optional[KfSettings]) -> None:
        self.settings = settings
        self.output: Optional[WeChatKfOutput] = None
        if settings is None:
            logger.info("wxkf.disabled (no WXKF_* settings)")
            return
        try:
            crypto = MessageCrypto(settings.token, settings.aes_key, settings.corp_id)
        except ValueError as error:  # never echo the key itself
            raise RasaException(f"{CHANNEL} channel: invalid EncodingAESKey: {error}") from None
        stores = open_stores(channel_redis_url(settings.redis_url))
        self._redis = stores.redis
        client = KfClient(settings.api_base, settings.corp_id, settings.secret, stores.token_cache)
        sender = OutboxSender(_outbox(), CHANNEL, settings.corp_id, client.send_text, refused=REFUSED_ERRCODES)
        self.output = WeChatKfOutput(client, stores.memory, sender, settings.open_kfids)
        self.conversations = Conversations(self.output)
        try:
            self.state = open_state(settings.state_url or default_url(), settings.corp_id, secrets.token_hex(8))
        except Exception as error:  # say which store, not the URL (it may carry a password)
            raise RasaException(
                f"{CHANNEL} channel: the state database ({STATE_URL_ENV}) cannot be opened: {type(error).__name__}"
            ) from None
        self.syncer = Syncer(client, self.state, settings.open_kfids, self.conversations.hand,
                             self.conversations.handled, MAX_PAGE, ready=self.conversations.ready)
        self.endpoint = CallbackEndpoint(settings, crypto, stores.replay, self._on_event)

    def _on_event(self, event: CallbackEvent) -> None:
        self.syncer.schedule(event.open_kfid, event.token)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        blueprint = Blueprint(f"{self.name()}_webhook", __name__)
        enabled = self.settings is not None

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok" if enabled else "disabled"})

        @blueprint.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not enabled:
                return response.text("微信客服 channel is not configured", status=404)
            reply = self.endpoint.verify(query_params(request.query_string))
            return response.text(reply.body, status=reply.status)

        @blueprint.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not enabled:
                return response.text("微信客服 channel is not configured", status=404)
            try:
                body = await read_body(request, self.endpoint.max_body_bytes)
            except BodyTooLarge:
                return response.text("payload too large", status=413)
            reply = await self.endpoint.receive(query_params(request.query_string), body)
            return response.text(reply.body, status=reply.status)

        if not enabled:
            return blueprint
        self.conversations.on_new_message = on_new_message

        @blueprint.listener("before_server_start")
        async def start(app: Any, loop: Any) -> None:
            install_delivery_reports(app)  # agent replies WeCom refuses: saved, and reported
            self.conversations.app = app
            assert self.output is not None and self.output.outbox is not None
            self.output.outbox.start()  # sends what an earlier process left pending
            try:
                purged = await self.state.purge()
                if purged:
                    logger.info("wxkf.ledger_purged rows=%d", purged)
            except Exception as error:
                logger.warning("wxkf.ledger_purge_failed error=%s", type(error).__name__)

        @blueprint.listener("after_server_start")
        async def catch_up(app: Any, loop: Any) -> None:
            self.syncer.schedule_all()  # what came while no process was listening

        @blueprint.listener("before_server_stop")
        async def close(app: Any, loop: Any) -> None:
            await self.syncer.close()
            assert self.output is not None and self.output.outbox is not None
            await self.output.outbox.stop()
            await self.output.client.close()
            await self.state.close()
            if self._redis is not None:
                await self._redis.close()

        return blueprint


def _outbox() -> Any:
    try:
        return open_outbox(OutboxSettings.from_env())
    except ValueError as error:
        raise RasaException(f"{CHANNEL} channel: {error}") from None
    except Exception as error:
        raise RasaException(
            f"{CHANNEL} channel: the outbox database ({OUTBOX_URL_ENV}) cannot be opened: {type(error).__name__}"
        ) from None
