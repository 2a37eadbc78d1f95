"""WeChat Official Account and WeCom input/output channels for Rasa.

``credentials.yml``::

    bot.channels.wechat.WeChatInput:      # POST/GET /webhooks/wechat/webhook
      token: ${WECHAT_TOKEN}
      ...
    bot.channels.wechat.WeComInput:       # POST/GET /webhooks/wecom/webhook
      ...

One request, in order: body size limit (413, checked while reading: a larger
body is never read in full) → signature (403) → timestamp within 5 minutes (403)
→ envelope and decryption (safe mode, the only mode accepted when an
EncodingAESKey is configured; 403 for plaintext, msg_signature or a foreign
AppID/CorpID) → poison stripped and XML parsed (400, logged once) → single use
of (timestamp, nonce, signature) (403 for a replay) → de-duplication of
WeChat's retries → per-user rate limit (over it: one polite passive reply per
window, then ``success``) → the bot turn in the conversation ``wechat:<openid>``
/ ``wecom:<corp>:<userid>``, run as a task with a ``reply_budget`` (4 s): an
answer in time goes back passively as XML (the rest through the durable outbox
and the customer-service API); a late one gets ``success`` now and the outbox
later. Nothing a customer sends raises out of the handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple, Type
from urllib.parse import unquote

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.limits import BodyTooLarge, limit_settings, read_body
from bot.channels.wechat.client import (
    ApiError,
    CustomerServiceClient,
    InProcessTokenCache,
    RedisTokenCache,
    TokenCache,
    WeChatClient,
    WeComClient,
)
from bot.channels.wechat.crypto import (
    DecryptError,
    ForeignReceiverError,
    MessageCrypto,
    SignatureError,
    check_signature,
)
from bot.channels.wechat.dedup import InProcessReplyLedger, Outcome, RedisReplyLedger, ReplyLedger
from bot.channels.wechat.delivery import DeliveryRefused, WrongRecipient, record_refusal
from bot.channels.wechat.delivery import install as install_delivery_reports
from bot.channels.wechat.memory import InProcessUserMemory, RedisUserMemory, UserMemory
from bot.channels.wechat.messages import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_API_MESSAGES_PER_TURN,
    ForbiddenXML,
    InboundMessage,
    MalformedXML,
    RenderedText,
    encrypted_envelope_xml,
    menu_choice,
    numbered_menu,
    pack_texts,
    parse_clean_xml,
    render_bot_message,
    split_text,
    text_reply_xml,
)
from bot.channels.wechat.outbox import OUTBOX_URL_ENV, REFUSED_ERRCODES, OutboxSender, OutboxSettings, open_outbox
from bot.channels.wechat.replay import (
    InProcessReplayGuard,
    RedisReplayGuard,
    ReplayGuard,
    StaleRequest,
    check_timestamp,
    replay_key,
)
from bot.channels.wechat.turns import (
    BOT,
    DEFAULT_CLICK_INTENTS,
    IGNORE,
    LOCAL,
    SUBSCRIBE,
    UNSUBSCRIBE,
    Decision,
    decide,
)
from kernel import i18n
from kernel.conversation_ids import WECHAT, WECOM, split, wechat_id, wecom_id
from kernel.logs import conversation, mask_id
from kernel.ratelimit import RateLimiter, Unlimited, rate_limiter, shared_or
from kernel.state import redis_client

logger = logging.getLogger(__name__)

SUCCESS = "success"
REDIS_URL_ENV = "KEFU_WECHAT_REDIS_URL"
DEFAULT_REPLY_BUDGET = 4.0
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
RATE_LIMITED_KEY = "msg_wechat_rate_limited"
DEFAULT_LANGUAGE = "zh-Hans"
WECHAT_API_BASE = "https://api.weixin.qq.com"
WECOM_API_BASE = "https://qyapi.weixin.qq.com"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
#: (sender id) -> (conversation language or None, paused by a human handoff)
ConversationProbe = Callable[[str], Awaitable[Tuple[Optional[str], bool]]]


def query_params(query_string: str) -> Dict[str, str]:
    """Percent-decode (not ``+``-decode) the query: base64 ``echostr`` keeps its ``+``."""
    params: Dict[str, str] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        params.setdefault(unquote(name), unquote(value))
    return params


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


def _forbidden(reason: str) -> HttpReply:
    return HttpReply(403, "forbidden")


class PlaintextRefused(SignatureError):
    """A plaintext post while an EncodingAESKey is configured: answer 403."""


# -- output ---------------------------------------------------------------------
class WeChatOutput(OutputChannel):
    """Bot and agent messages to a WeChat user through the customer-service API.

    Conversation ids are ``wechat:<openid>`` (:mod:`kernel.conversation_ids`); any other id is
    refused (:class:`WrongRecipient`), never sent to WeChat as is. Texts are split to the API's
    length limit; buttons become a numbered text menu, and the user's next bare-number answer
    selects the button's payload.

    A send WeChat refuses for good (:data:`REFUSED_ERRCODES`: 48-hour window, unsubscribed...) is
    a :class:`DeliveryRefused`: recorded for the console's API request (the event is saved, the
    answer says ``kefu_undeliverable:<errcode>``) or raised. A send that fails for a passing
    reason (timeout, busy) is handed to the durable outbox and retried there.
    """

    prefix = WECHAT

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def __init__(self, client: CustomerServiceClient, memory: UserMemory, outbox: Optional[OutboxSender] = None) -> None:
        self.client = client
        self.memory = memory
        self.outbox = outbox
        self._direct: Set[asyncio.Task[Any]] = set()

    # -- conversation ids ----------------------------------------------------------
    def conversation_id(self, user: str) -> str:
        return wechat_id(user)

    def user_of(self, recipient_id: str) -> str:
        """The openid of ``wechat:<openid>``; :class:`WrongRecipient` for anything else."""
        prefix, rest = split(recipient_id)
        if prefix != WECHAT:
            raise WrongRecipient(recipient_id, self.name(), "wechat:<openid>")
        return rest

    # -- Rasa's OutputChannel --------------------------------------------------------
    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        rendered = render_bot_message(message)
        if rendered is None:
            logger.debug("%s.nothing_to_send user=%s keys=%s", self.name(), mask_id(recipient_id), sorted(message))
            return
        await self.deliver(recipient_id, rendered)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.deliver(recipient_id, RenderedText(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.deliver(recipient_id, numbered_menu(text, buttons))

    async def deliver(self, recipient_id: str, rendered: RenderedText) -> None:
        try:
            user = self.user_of(recipient_id)
        except WrongRecipient as refusal:
            logger.error("%s.wrong_recipient refused: %s", self.name(), refusal.reason)
            record_refusal(refusal)
            return
        if rendered.menu:
            await self.memory.remember_menu(user, list(rendered.menu))
        await self.push(user, split_text(rendered.text))

    async def push(self, user: str, texts: List[str]) -> None:
        """Send now (agent replies): refusals are recorded or raised, passing failures go to the outbox."""
        if await self.memory.unsubscribed_at(user) is not None:
            logger.warning("%s.skip_unsubscribed user=%s", self.name(), mask_id(user))
            record_refusal(DeliveryRefused(43004, "the user has unsubscribed", self.name()))
            return
        for index, piece in enumerate(texts):
            try:
                await self.client.send_text(user, piece)
            except ApiError as error:
                logger.error(
                    "%s.send_failed user=%s errcode=%s errmsg=%s",
                    self.name(), mask_id(user), error.errcode, error.errmsg,
                )
                if error.errcode in REFUSED_ERRCODES:
                    record_refusal(DeliveryRefused(error.errcode, error.errmsg, self.name()))
                    return
                if self.outbox is None:
                    raise
                await self.outbox.put(user, texts[index:])
                logger.warning("%s.send_deferred user=%s to the outbox", self.name(), mask_id(user))
                return

    async def queue(self, user: str, texts: List[str]) -> None:
        """Late replies: into the durable outbox first, then sent by its sender (in order)."""
        if not texts:
            return
        if self.outbox is not None:
            try:
                await self.outbox.put(user, texts)
                return
            except Exception as error:  # the outbox's database is down: send directly, not durably
                logger.error(
                    "%s.outbox_unavailable error=%s sending directly", self.name(), type(error).__name__
                )
        task = asyncio.create_task(self._push_quietly(user, list(texts)))
        self._direct.add(task)
        task.add_done_callback(self._direct.discard)

    async def _push_quietly(self, user: str, texts: List[str]) -> None:
        for piece in texts:
            try:
                await self.client.send_text(user, piece)
            except ApiError:
                logger.error("%s.direct_send_failed user=%s", self.name(), mask_id(user))
            except Exception:
                logger.exception("%s.direct_send_crashed user=%s", self.name(), mask_id(user))


class WeComOutput(WeChatOutput):
    """Bot and agent messages to a WeCom user through ``/cgi-bin/message/send``.

    Conversation ids are ``wecom:<corp id>:<userid>``; the corp id must be this app's.
    """

    prefix = WECOM

    @classmethod
    def name(cls) -> str:
        return "wecom"

    @property
    def corp_id(self) -> str:
        return str(getattr(self.client, "corp_id", ""))

    def conversation_id(self, user: str) -> str:
        return wecom_id(self.corp_id, user)

    def user_of(self, recipient_id: str) -> str:
        prefix, rest = split(recipient_id)
        corp, sep, user = rest.partition(":")
        if prefix != WECOM or not sep or not user or corp != self.corp_id:
            raise WrongRecipient(recipient_id, self.name(), "wecom:<this corp id>:<userid>")
        return user


class RenderingOutput(OutputChannel):
    """What the bot says, rendered as WeChat text (buttons as a numbered menu) and handed to ``deliver``, which each
    subclass defines (collect for a passive reply, or queue in the outbox)."""

    parent: WeChatOutput
    deliver: Callable[[str, RenderedText], Awaitable[None]]

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        rendered = render_bot_message(message)
        if rendered is not None:
            await self.deliver(recipient_id, rendered)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.deliver(recipient_id, RenderedText(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.deliver(recipient_id, numbered_menu(text, buttons))


class TurnOutput(RenderingOutput):
    """The output of one bot turn: collected while a passive reply is still possible, then
    (``release``) queued in the outbox, in order, as the bot speaks."""

    def __init__(self, parent: WeChatOutput) -> None:
        self.parent = parent
        self.collected: List[str] = []
        self.collecting = True
        self._order = asyncio.Lock()

    @classmethod
    def name(cls) -> str:  # the tracker shows the product's name, not this helper's
        return "wechat"

    async def deliver(self, recipient_id: str, rendered: RenderedText) -> None:
        user = self.parent.user_of(recipient_id)
        if rendered.menu:
            await self.parent.memory.remember_menu(user, list(rendered.menu))
        async with self._order:
            if self.collecting:
                self.collected.extend(split_text(rendered.text))
            else:
                await self.parent.queue(user, split_text(rendered.text))

    async def release(self, user: str) -> None:
        """From now on go through the outbox: first what was collected, then whatever the bot adds."""
        async with self._order:
            self.collecting = False
            pending, self.collected = self.collected, []
            await self.parent.queue(user, pending)


# -- the request handler (no Sanic in here, so it is testable as is) -----------
class WeChatEndpoint:
    """Verification and message handling for an Official Account."""

    product = "wechat"

    def __init__(
        self,
        token: str,
        receive_id: str,
        crypto: Optional[MessageCrypto],
        output: WeChatOutput,
        ledger: ReplyLedger,
        memory: UserMemory,
        click_intents: Mapping[str, str] = DEFAULT_CLICK_INTENTS,
        reply_budget: float = DEFAULT_REPLY_BUDGET,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        rate_limiter: Optional[RateLimiter] = None,
        notice_limiter: Optional[RateLimiter] = None,
        replay_guard: Optional[ReplayGuard] = None,
    ) -> None:
        self.token = token
        self.receive_id = receive_id
        self.crypto = crypto
        self.output = output
        self.ledger = ledger
        self.memory = memory
        self.click_intents = dict(click_intents)
        self.reply_budget = reply_budget
        self.max_body_bytes = max_body_bytes
        #: messages per user and window; ``notice_limiter`` (1 per window) paces the polite notice
        self.rate_limiter: RateLimiter = rate_limiter or Unlimited()
        self.notice_limiter: RateLimiter = notice_limiter or Unlimited()
        self.background: Set[asyncio.Task[Any]] = set()
        #: (timestamp, nonce, signature) triples already accepted; Redis errors fall back to ``_local_replay``
        self.replay_guard: ReplayGuard = replay_guard or InProcessReplayGuard()
        self._local_replay = InProcessReplayGuard()

    def conversation_id(self, user: str) -> str:
        """``wechat:<openid>`` / ``wecom:<corp id>:<userid>``: the Rasa sender id of ``user``."""
        return self.output.conversation_id(user)

    # -- GET --------------------------------------------------------------
    async def verify(self, query: Mapping[str, str]) -> HttpReply:
        try:
            check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce"))
            check_timestamp(query.get("timestamp"))
        except SignatureError as error:
            logger.warning("%s.verify_refused reason=%s", self.product, error)
            return _forbidden(str(error))
        logger.info("%s.url_verified", self.product)
        return HttpReply(200, query.get("echostr", ""))

    # -- POST -------------------------------------------------------------
    def unwrap(self, query: Mapping[str, str], body: bytes) -> Tuple[Dict[str, str], bool]:
        """Check the signature and the timestamp, then decrypt if needed: (inner fields, encrypted?).

        With an EncodingAESKey configured only safe mode is accepted: a plaintext post (or the
        plaintext half of compatibility mode) could be forged by anyone who saw one signed URL,
        since ``signature`` does not cover the body.
        """
        check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce"))
        check_timestamp(query.get("timestamp"))
        encrypted = query.get("encrypt_type", "raw").lower() == "aes"
        if self.crypto is not None:
            if not encrypted or not query.get("msg_signature"):
                raise PlaintextRefused("encrypted message required (encrypt_type=aes and msg_signature)")
            encrypt = self._fields(body).get("Encrypt", "")
            if not encrypt:
                raise MalformedXML("encrypt_type=aes without an Encrypt element")
            inner = self.crypto.decrypt_checked(encrypt, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
            return self._fields(inner), True
        outer = self._fields(body)
        if encrypted and not outer.get("MsgType"):  # compatible mode carries the plaintext too
            raise MalformedXML("safe-mode message but no EncodingAESKey is configured")
        return outer, False

    def _fields(self, xml: bytes) -> Dict[str, str]:
        fields, removed = parse_clean_xml(xml)
        if removed:
            logger.warning("%s.poison_stripped characters=%d (NUL, control or invalid UTF-8)", self.product, removed)
        return fields

    def replay_signature(self, query: Mapping[str, str]) -> str:
        """The signature that makes a request single-use (``signature``; WeCom has ``msg_signature`` only)."""
        return query.get("signature") or ""

    async def first_use(self, query: Mapping[str, str]) -> bool:
        key = replay_key(
            self.product, query.get("timestamp") or "", query.get("nonce") or "", self.replay_signature(query)
        )
        try:
            return await self.replay_guard.first_use(key)
        except Exception as error:  # Redis down: this replica still refuses what it has seen
            logger.error("%s.replay_store_unavailable error=%s using the in-process store", self.product, type(error).__name__)
            return await self._local_replay.first_use(key)

    def seal(self, reply_xml: Optional[str], encrypted: bool) -> HttpReply:
        if reply_xml is None:
            return HttpReply(200, SUCCESS)
        if encrypted and self.crypto is not None:
            timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
            sealed = self.crypto.encrypt_reply(reply_xml, timestamp, nonce)
            reply_xml = encrypted_envelope_xml(sealed.encrypt, sealed.msg_signature, sealed.timestamp, sealed.nonce)
        return HttpReply(200, reply_xml, "application/xml; charset=utf-8")

    async def receive(
        self,
        query: Mapping[str, str],
        body: bytes,
        on_new_message: OnNewMessage,
        probe: Optional[ConversationProbe] = None,
    ) -> HttpReply:
        started = time.monotonic()
        if len(body) > self.max_body_bytes:
            logger.warning("%s.body_too_large bytes=%d", self.product, len(body))
            return HttpReply(413, "payload too large")
        try:
            fields, encrypted = self.unwrap(query, body)
            message = InboundMessage.from_fields(fields)
        except PlaintextRefused as error:
            logger.warning("%s.refused reason=%s", self.product, error)
            return HttpReply(403, "forbidden: encrypted message required")
        except StaleRequest as error:
            logger.warning("%s.refused reason=%s", self.product, error)
            return HttpReply(403, "forbidden: timestamp too far from the server clock")
        except ForeignReceiverError:
            logger.warning("%s.refused reason=foreign receive id", self.product)
            return _forbidden("foreign receiver")
        except SignatureError as error:
            logger.warning("%s.refused reason=%s", self.product, error)
            return _forbidden(str(error))
        except ForbiddenXML as error:
            logger.warning("%s.hostile_xml_refused reason=%s", self.product, error)
            return HttpReply(400, "bad request")
        except (MalformedXML, DecryptError) as error:
            logger.warning("%s.malformed reason=%s", self.product, error)
            return HttpReply(400, "bad request")

        if not await self.first_use(query):
            logger.warning("%s.refused reason=replayed request user=%s", self.product, mask_id(message.from_user))
            return HttpReply(403, "forbidden: replayed request")
        with conversation(self.conversation_id(message.from_user)):
            return await self._receive_message(message, encrypted, started, on_new_message, probe)

    async def _receive_message(
        self,
        message: InboundMessage,
        encrypted: bool,
        started: float,
        on_new_message: OnNewMessage,
        probe: Optional[ConversationProbe],
    ) -> HttpReply:
        key = f"{self.product}:{self.receive_id}:{message.dedup_key()}"
        try:
            first = await self.ledger.claim(key)
        except Exception as error:  # the ledger's backend is down: rather twice than never
            logger.error("%s.dedup_unavailable error=%s processing anyway", self.product, type(error).__name__)
            first = True
        if not first:
            outcome = await self._outcome_of_first(key, started)
            logger.info("%s.retry_deduplicated user=%s key=%s", self.product, mask_id(message.from_user), message.dedup_key())
            return self.seal(outcome.reply_xml if outcome else None, encrypted)

        reply_xml: Optional[str] = None
        try:
            reply_xml = await self.handle(message, started, on_new_message, probe)
        except Exception:
            logger.exception("%s.handling_failed user=%s", self.product, mask_id(message.from_user))
        try:
            await self.ledger.settle(key, Outcome(reply_xml))
        except Exception as error:
            logger.error("%s.dedup_settle_failed error=%s", self.product, type(error).__name__)
        return self.seal(reply_xml, encrypted)

    async def _outcome_of_first(self, key: str, started: float) -> Optional[Outcome]:
        remaining = self.reply_budget + 0.3 - (time.monotonic() - started)
        try:
            return await self.ledger.wait(key, remaining)
        except Exception as error:
            logger.error("%s.dedup_unavailable error=%s", self.product, type(error).__name__)
            return None

    # -- one message --------------------------------------------------------
    def metadata(self, message: InboundMessage) -> Dict[str, Any]:
        data: Dict[str, Any] = {"msg_type": message.msg_type, "openid": message.from_user}
        if message.msg_id:
            data["msg_id"] = message.msg_id
        if message.event:
            data["event"] = message.event
        if message.event_key:
            data["event_key"] = message.event_key
        if message.agent_id:
            data["agent_id"] = message.agent_id
        return {"wechat": data}

    async def handle(
        self, message: InboundMessage, started: float, on_new_message: OnNewMessage, probe: Optional[ConversationProbe]
    ) -> Optional[str]:
        user = message.from_user
        decision = decide(message, self.click_intents)
        logger.info(
            "%s.received user=%s type=%s decision=%s", self.product, mask_id(user), message.msg_type, decision.kind
        )
        if decision.kind == IGNORE:
            return None
        if decision.kind == UNSUBSCRIBE:
            await self.memory.record_unsubscribe(user, time.time())
            logger.info("%s.unsubscribed user=%s at=%s", self.product, mask_id(user), message.create_time)
            return None
        if decision.kind == SUBSCRIBE:
            await self.memory.clear_unsubscribe(user)
        if not await self.rate_limiter.allow(self._rate_key(user)):
            return await self._rate_limited(message, probe)
        language, paused = await self._probe(probe, user)
        if decision.kind == LOCAL and paused and decision.forward:
            # a person owns the conversation: show them what came in instead of answering
            decision = Decision(BOT, text=self._forward_text(message, decision.forward, language))
        if decision.kind in (LOCAL, SUBSCRIBE):
            key = decision.key
            buttons = i18n.buttons(key, language)
            body = i18n.text(key, language)
            rendered = numbered_menu(body, buttons) if buttons else RenderedText(body)
            if rendered.menu:
                await self.memory.remember_menu(user, list(rendered.menu))
            return await self._passive_then_api(message, split_text(rendered.text))
        return await self._bot_turn(message, decision.text, started, on_new_message)

    def _rate_key(self, user: str) -> str:
        return f"{self.product}:{self.receive_id}:{user}"

    async def _rate_limited(self, message: InboundMessage, probe: Optional[ConversationProbe]) -> Optional[str]:
        """Over the limit: no bot turn. The first refused message of a window gets one polite passive
        reply (free: no customer-service API call); the rest get ``success``, which WeChat never retries."""
        user = message.from_user
        notify = await self.notice_limiter.allow(self._rate_key(user))
        logger.info("%s.rate_limited user=%s notice=%s", self.product, mask_id(user), notify)
        if not notify:
            return None
        language, _ = await self._probe(probe, user)
        return text_reply_xml(user, message.to_user, i18n.text(RATE_LIMITED_KEY, language))

    @staticmethod
    def _forward_text(message: InboundMessage, kind: str, language: Optional[str]) -> str:
        if kind == "image":
            return i18n.text("msg_wechat_forwarded_image", language, url=message.pic_url or message.media_id)
        return i18n.text("msg_wechat_forwarded_other", language, kind=kind)

    async def _probe(self, probe: Optional[ConversationProbe], user: str) -> Tuple[str, bool]:
        if probe is None:
            return DEFAULT_LANGUAGE, False
        try:
            language, paused = await probe(self.conversation_id(user))
        except Exception as error:
            logger.warning("%s.tracker_unavailable error=%s", self.product, type(error).__name__)
            return DEFAULT_LANGUAGE, False
        return language or DEFAULT_LANGUAGE, paused

    async def _passive_then_api(self, message: InboundMessage, texts: List[str]) -> Optional[str]:
        """The first text as the passive reply; the rest through the API, in order."""
        if not texts:
            return None
        first, rest = texts[0], pack_texts(texts[1:], MAX_API_MESSAGES_PER_TURN)
        if rest:
            await self.output.queue(message.from_user, rest)
        return text_reply_xml(message.from_user, message.to_user, first)

    async def _bot_turn(
        self, message: InboundMessage, text: str, started: float, on_new_message: OnNewMessage
    ) -> Optional[str]:
        user = message.from_user
        try:
            choice = menu_choice(text, await self.memory.menu(user))
            await self.memory.forget_menu(user)
        except Exception as error:
            logger.warning("%s.menu_unavailable error=%s", self.product, type(error).__name__)
            choice = None
        turn_output = TurnOutput(self.output)
        user_message = UserMessage(
            text=choice or text,
            output_channel=turn_output,
            sender_id=self.conversation_id(user),
            input_channel=self.product,
            message_id=f"{self.product}-{message.msg_id}" if message.msg_id else None,
            metadata=self.metadata(message),
        )
        task = asyncio.create_task(self._run(user_message, on_new_message))
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        remaining = self.reply_budget - (time.monotonic() - started)
        done, _ = await asyncio.wait({task}, timeout=max(remaining, 0.0))
        if task in done:
            return await self._passive_then_api(message, turn_output.collected)
        # too late for a passive reply: answer `success`, deliver through the API
        logger.info("%s.reply_async user=%s", self.product, mask_id(user))
        await turn_output.release(user)
        return None

    async def _run(self, user_message: UserMessage, on_new_message: OnNewMessage) -> None:
        try:
            with conversation(user_message.sender_id):
                await on_new_message(user_message)
        except Exception:
            logger.exception("%s.bot_turn_failed user=%s", self.product, mask_id(user_message.sender_id))

    async def close(self) -> None:
        for task in list(self.background):
            if not task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=10)
                except Exception:
                    pass
        if self.output.outbox is not None:
            await self.output.outbox.stop()
        await self.output.client.close()


class WeComEndpoint(WeChatEndpoint):
    """WeCom: encrypted ``echostr`` on GET, always-encrypted POSTs with the CorpID."""

    product = "wecom"

    async def verify(self, query: Mapping[str, str]) -> HttpReply:
        assert self.crypto is not None
        echostr = query.get("echostr", "")
        try:
            plain = self.crypto.decrypt_checked(echostr, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
            check_timestamp(query.get("timestamp"))
        except (SignatureError, ForeignReceiverError) as error:
            logger.warning("wecom.verify_refused reason=%s", error)
            return _forbidden(str(error))
        except DecryptError as error:
            logger.warning("wecom.verify_malformed reason=%s", error)
            return HttpReply(400, "bad request")
        logger.info("wecom.url_verified")
        return HttpReply(200, plain.decode("utf-8", errors="replace"))

    def unwrap(self, query: Mapping[str, str], body: bytes) -> Tuple[Dict[str, str], bool]:
        assert self.crypto is not None
        if not (query.get("msg_signature") and query.get("timestamp") and query.get("nonce")):
            raise SignatureError("msg_signature, timestamp or nonce missing")
        encrypt = self._fields(body).get("Encrypt", "")
        if not encrypt:
            raise MalformedXML("no Encrypt element")
        inner = self.crypto.decrypt_checked(encrypt, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
        check_timestamp(query.get("timestamp"))
        return self._fields(inner), True

    def replay_signature(self, query: Mapping[str, str]) -> str:
        return query.get("msg_signature") or ""


# -- Rasa input channels: one factory, parametrised by the kind of account -------------
@dataclass(frozen=True)
class Kind:
    """What tells an Official Account from a WeCom app. Everything else (stores, limits, outbox,
    endpoint, blueprint) is built the same way for both by :class:`WeChatInput`."""

    name: str  # "wechat" | "wecom": the webhook URL, ``input_channel``, log lines
    required: Tuple[str, ...]  # credentials.yml keys that must be set, passed to the constructor
    optional: Tuple[str, ...]  # credentials.yml keys passed as "" when absent
    api_base: str
    output: Type[WeChatOutput]
    endpoint: Type[WeChatEndpoint]
    encrypted_only: bool  # WeCom: every message is encrypted, so the EncodingAESKey is required


OFFICIAL_ACCOUNT = Kind(
    "wechat", ("token", "appid", "appsecret"), ("aes_key",), WECHAT_API_BASE, WeChatOutput, WeChatEndpoint, False
)
WECOM_APP = Kind(
    "wecom", ("corp_id", "agent_id", "secret", "token", "aes_key"), (), WECOM_API_BASE, WeComOutput, WeComEndpoint,
    True,
)


@dataclass(frozen=True)
class ChannelOptions:
    """The options both kinds share (credentials.yml keys of the same names)."""

    #: the channel's Redis (stores and, unless ``KEFU_RATE_LIMIT_REDIS_URL`` is set, limits); empty:
    #: ``KEFU_WECHAT_REDIS_URL``, and when that is empty too, in-process
    redis_url: str = ""
    click_intents: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CLICK_INTENTS))
    reply_budget: float = DEFAULT_REPLY_BUDGET
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: (messages, window seconds) per user; None: :func:`rate_limit_settings` of the environment
    rate_limit: Optional[Tuple[int, float]] = None
    #: the outbox's database; None: ``KEFU_WECHAT_OUTBOX_URL`` and its fallbacks
    outbox_url: Optional[str] = None


def rate_limit_settings(credentials: Optional[Mapping[str, Any]], channel: str = "wechat") -> Tuple[int, float]:
    """(messages, window seconds) per user: ``KEFU_WECHAT_RATE_LIMIT`` / ``KEFU_WECHAT_RATE_WINDOW``,
    else ``rate_limit_messages`` / ``rate_limit_window_seconds`` in credentials.yml, else 20 per 60 s."""
    try:
        return limit_settings(
            credentials, "KEFU_WECHAT_RATE_LIMIT", "KEFU_WECHAT_RATE_WINDOW",
            DEFAULT_RATE_LIMIT_MESSAGES, DEFAULT_RATE_LIMIT_WINDOW_SECONDS,
        )
    except ValueError as error:
        raise RasaException(f"{channel} channel: {error}") from None


def options_from_credentials(credentials: Mapping[str, Any], channel: str) -> ChannelOptions:
    """The shared options. The rate limits' environment variables win over credentials.yml; the Redis is
    ``redis_url`` in credentials.yml, else ``KEFU_WECHAT_REDIS_URL`` (:func:`channel_redis_url`)."""
    return ChannelOptions(
        redis_url=str(credentials.get("redis_url") or "").strip(),
        click_intents=credentials.get("click_intents") or DEFAULT_CLICK_INTENTS,
        reply_budget=float(credentials.get("reply_budget") or DEFAULT_REPLY_BUDGET),
        max_body_bytes=int(credentials.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
        rate_limit=rate_limit_settings(credentials, channel),
    )


@dataclass(frozen=True)
class Stores:
    """The channel's state between requests: in Redis (all replicas) or in this process."""

    redis: Any  # the channel's Redis client, or None
    token_cache: TokenCache
    ledger: ReplyLedger
    memory: UserMemory
    replay: ReplayGuard


def channel_redis_url(redis_url: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """The channel's Redis: ``redis_url`` (credentials.yml), else ``KEFU_WECHAT_REDIS_URL``; empty: none."""
    return redis_url or (environ if environ is not None else os.environ).get(REDIS_URL_ENV, "").strip()


def open_stores(redis_url: str) -> Stores:
    """Redis at ``redis_url`` (a client from :mod:`kernel.state`), or in-process when it is empty."""
    if redis_url:
        client = redis_client(redis_url, decode_responses=True)
        return Stores(client, RedisTokenCache(client), RedisReplyLedger(client), RedisUserMemory(client),
                      RedisReplayGuard(client))
    return Stores(None, InProcessTokenCache(), InProcessReplyLedger(), InProcessUserMemory(), InProcessReplayGuard())


def _rate_limiters(channel_redis: Any, rate_limit: Optional[Tuple[int, float]], channel: str) -> Dict[str, RateLimiter]:
    """The per-user limiter and the notice pacer (1 per window) of an endpoint. Redis:
    ``KEFU_RATE_LIMIT_REDIS_URL`` when set, else the channel's own Redis, else in-process."""
    limit, window = rate_limit if rate_limit is not None else rate_limit_settings(None, channel)
    client = shared_or(channel_redis)
    return {
        "rate_limiter": rate_limiter(limit, window, prefix="kefu:wechat", client=client),
        "notice_limiter": rate_limiter(1, window, prefix="kefu:wechat:notice", client=client),
    }


def _outbox(url: Optional[str], channel: str) -> Any:
    try:
        settings = OutboxSettings.from_env()
        if url:
            settings = replace(settings, url=url)
        return open_outbox(settings)
    except ValueError as error:
        raise RasaException(f"{channel} channel: {error}") from None
    except Exception as error:  # the URL is wrong or the database unreachable: say which, not the URL
        raise RasaException(
            f"{channel} channel: the outbox database ({OUTBOX_URL_ENV}) cannot be opened: {type(error).__name__}"
        ) from None


def _crypto(product: str, token: str, aes_key: str, receive_id: str) -> MessageCrypto:
    try:
        return MessageCrypto(token, aes_key, receive_id)
    except ValueError as error:  # never echo the key itself
        raise RasaException(f"{product} channel: invalid EncodingAESKey: {error}") from None


async def tracker_probe(request: Request, sender_id: str) -> Tuple[Optional[str], bool]:
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return None, False
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return None, False
    return tracker.get_slot("language"), tracker.is_paused()


class WeChatInput(InputChannel):
    """WeChat Official Account (公众号) at ``/webhooks/wechat/webhook``; the factory of both kinds.

    A subclass names its :class:`Kind` and says in ``__init__`` how to build its API client
    (:meth:`assemble`); credentials, stores, limits, outbox, endpoint and blueprint are shared.
    """

    kind: Kind = OFFICIAL_ACCOUNT

    @classmethod
    def name(cls) -> str:
        return cls.kind.name

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        kind = cls.kind
        missing = [k for k in kind.required if not str(credentials.get(k) or "")]
        if missing:
            raise RasaException(f"{kind.name} channel: credentials missing {missing}")
        account = {k: str(credentials.get(k) or "") for k in (*kind.required, *kind.optional)}
        options = options_from_credentials(credentials, kind.name)
        return cls(**account, api_base=str(credentials.get("api_base") or kind.api_base), **vars(options))

    def __init__(self, token: str, appid: str, appsecret: str, aes_key: str, api_base: str, **options: Any) -> None:
        """``options``: the fields of :class:`ChannelOptions`."""
        self.assemble(
            token, aes_key, appid, appid,
            lambda cache: WeChatClient(api_base, appid, appsecret, cache), ChannelOptions(**options),
        )

    def assemble(
        self,
        token: str,
        aes_key: str,
        receive_id: str,
        account: str,
        make_client: Callable[[TokenCache], CustomerServiceClient],
        options: ChannelOptions,
    ) -> None:
        """Build this account's endpoint: ``receive_id`` is the AppID/CorpID encrypted messages must
        name, ``account`` the outbox's name of the sending account, ``make_client`` the API client
        on the token cache."""
        kind = self.kind
        stores = open_stores(channel_redis_url(options.redis_url))
        self._redis = stores.redis
        crypto = _crypto(kind.name, token, aes_key, receive_id) if (aes_key or kind.encrypted_only) else None
        client = make_client(stores.token_cache)
        sender = OutboxSender(_outbox(options.outbox_url, kind.name), kind.name, account, client.send_text)
        output = kind.output(client, stores.memory, sender)
        self.endpoint = kind.endpoint(
            token, receive_id, crypto, output, stores.ledger, stores.memory,
            click_intents=options.click_intents, reply_budget=options.reply_budget,
            max_body_bytes=options.max_body_bytes, replay_guard=stores.replay,
            **_rate_limiters(stores.redis, options.rate_limit, kind.name),
        )

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.endpoint.output

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        endpoint = self.endpoint
        blueprint = Blueprint(f"{self.name()}_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            reply = await endpoint.verify(query_params(request.query_string))
            return response.text(reply.body, status=reply.status, content_type=reply.content_type)

        @blueprint.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            async def probe(sender_id: str) -> Tuple[Optional[str], bool]:
                return await tracker_probe(request, sender_id)

            try:  # stop reading at the limit: a huge body costs neither memory nor parsing
                body = await read_body(request, endpoint.max_body_bytes)
            except BodyTooLarge:
                logger.warning("%s.body_too_large limit=%d", endpoint.product, endpoint.max_body_bytes)
                return response.text("payload too large", status=413)
            reply = await endpoint.receive(query_params(request.query_string), body, on_new_message, probe)
            return response.text(reply.body, status=reply.status, content_type=reply.content_type)

        @blueprint.listener("before_server_start")
        async def start(app: Any, loop: Any) -> None:
            install_delivery_reports(app)  # agent replies WeChat refuses: saved, and reported
            if endpoint.output.outbox is not None:
                endpoint.output.outbox.start()  # sends what an earlier process left pending

        @blueprint.listener("before_server_stop")
        async def close(app: Any, loop: Any) -> None:
            await endpoint.close()
            if self._redis is not None:
                await self._redis.close()

        return blueprint


class WeComInput(WeChatInput):
    """WeCom (企业微信) self-built app at ``/webhooks/wecom/webhook``."""

    kind = WECOM_APP

    def __init__(  # type: ignore[override]
        self, corp_id: str, agent_id: str, secret: str, token: str, aes_key: str, api_base: str, **options: Any
    ) -> None:
        """``options``: the fields of :class:`ChannelOptions`."""
        self.assemble(
            token, aes_key, corp_id, f"{corp_id}:{agent_id}",
            lambda cache: WeComClient(api_base, corp_id, agent_id, secret, cache), ChannelOptions(**options),
        )
