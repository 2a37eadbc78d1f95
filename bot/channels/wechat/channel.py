"""WeChat Official Account and WeCom input/output channels for Rasa.

``credentials.yml``::

    bot.channels.wechat.WeChatInput:      # POST/GET /webhooks/wechat/webhook
      token: ${WECHAT_TOKEN}
      ...
    bot.channels.wechat.WeComInput:       # POST/GET /webhooks/wecom/webhook
      ...

One request, in order: body size limit (413, checked while reading: a larger
body is never read in full) → signature (403) → envelope and
decryption (safe mode; 403 for msg_signature or a foreign AppID/CorpID) → XML
(400, logged once) → de-duplication → per-user rate limit (over it: one polite
passive reply per window, then ``success``) → the bot turn, run as a task with a
``reply_budget`` (4 s): an answer in time goes back passively as XML (the rest
through the customer-service API); a late one gets ``success`` now and the
API later. Nothing a customer sends raises out of the handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Set, Tuple
from urllib.parse import unquote

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import i18n
from bot.channels.limits import (
    BodyTooLarge,
    RateLimiter,
    Unlimited,
    float_setting,
    int_setting,
    rate_limiter,
    read_body,
    redis_client,
    setting,
    shared_redis_url,
)
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
    parse_xml,
    render_bot_message,
    split_text,
    text_reply_xml,
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
from bot.logging_json import conversation

logger = logging.getLogger(__name__)

SUCCESS = "success"
DEFAULT_REPLY_BUDGET = 4.0
DEFAULT_RATE_LIMIT_MESSAGES = 20
DEFAULT_RATE_LIMIT_WINDOW_SECONDS = 60.0
RATE_LIMITED_KEY = "msg_wechat_rate_limited"
DEFAULT_LANGUAGE = "zh-Hans"
WECHAT_API_BASE = "https://api.weixin.qq.com"
WECOM_API_BASE = "https://qyapi.weixin.qq.com"
#: Test-only: seconds every bot turn is delayed by, to exercise the 5-second rule.
TEST_BOT_DELAY_ENV = "KEFU_WECHAT_TEST_BOT_DELAY"
#: Test-only, optional: delay only senders whose id starts with this prefix.
TEST_BOT_DELAY_FOR_ENV = "KEFU_WECHAT_TEST_BOT_DELAY_FOR"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
#: (sender id) -> (conversation language or None, paused by a human handoff)
ConversationProbe = Callable[[str], Awaitable[Tuple[Optional[str], bool]]]


def mask_user(user: Optional[str]) -> str:
    """openids and UserIDs are personal data: keep a short prefix and suffix."""
    if not user:
        return "-"
    return f"{user[:3]}…{user[-3:]}" if len(user) > 8 else user[:2] + "…"


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


# -- output ---------------------------------------------------------------------
class WeChatOutput(OutputChannel):
    """Bot and agent messages to a WeChat user through the customer-service API.

    Texts are split to the API's length limit; buttons become a numbered text
    menu, and the user's next bare-number answer selects the button's payload.
    """

    @classmethod
    def name(cls) -> str:
        return "wechat"

    def __init__(self, client: CustomerServiceClient, memory: UserMemory) -> None:
        self.client = client
        self.memory = memory

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        rendered = render_bot_message(message)
        if rendered is None:
            logger.debug("%s.nothing_to_send user=%s keys=%s", self.name(), mask_user(recipient_id), sorted(message))
            return
        await self.deliver(recipient_id, rendered)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.deliver(recipient_id, RenderedText(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.deliver(recipient_id, numbered_menu(text, buttons))

    async def deliver(self, recipient_id: str, rendered: RenderedText) -> None:
        if rendered.menu:
            await self.memory.remember_menu(recipient_id, list(rendered.menu))
        await self.push(recipient_id, split_text(rendered.text))

    async def push(self, recipient_id: str, texts: List[str]) -> None:
        """Send texts through the API; raises :class:`ApiError` so callers see failures."""
        if await self.memory.unsubscribed_at(recipient_id) is not None:
            logger.warning("%s.skip_unsubscribed user=%s", self.name(), mask_user(recipient_id))
            raise ApiError(43004, "user has unsubscribed", self.client.send_path)
        for piece in texts:
            try:
                await self.client.send_text(recipient_id, piece)
            except ApiError as error:
                logger.error(
                    "%s.send_failed user=%s errcode=%s errmsg=%s",
                    self.name(), mask_user(recipient_id), error.errcode, error.errmsg,
                )
                raise


class WeComOutput(WeChatOutput):
    """Bot and agent messages to a WeCom user through ``/cgi-bin/message/send``."""

    @classmethod
    def name(cls) -> str:
        return "wecom"


class TurnOutput(WeChatOutput):
    """The output of one bot turn: collected while a passive reply is still possible,
    then (``release``) pushed through the API, in order, as the bot speaks."""

    def __init__(self, parent: WeChatOutput, background: Set[asyncio.Task[Any]]) -> None:
        super().__init__(parent.client, parent.memory)
        self.parent = parent
        self.collected: List[str] = []
        self.collecting = True
        self._queue: List[Tuple[str, str]] = []
        self._worker: Optional[asyncio.Task[Any]] = None
        self._background = background

    @classmethod
    def name(cls) -> str:  # the tracker shows the product's name, not this helper's
        return "wechat"

    async def deliver(self, recipient_id: str, rendered: RenderedText) -> None:
        if rendered.menu:
            await self.memory.remember_menu(recipient_id, list(rendered.menu))
        if self.collecting:
            self.collected.extend(split_text(rendered.text))
        else:
            self.enqueue(recipient_id, split_text(rendered.text))

    def release(self, recipient_id: str, texts: List[str]) -> None:
        """From now on push through the API: first ``texts``, then whatever the bot adds."""
        self.collecting = False
        self.enqueue(recipient_id, texts)

    def enqueue(self, recipient_id: str, texts: List[str]) -> None:
        self._queue.extend((recipient_id, t) for t in texts)
        if self._queue and (self._worker is None or self._worker.done()):
            self._worker = asyncio.create_task(self._drain())
            self._background.add(self._worker)
            self._worker.add_done_callback(self._background.discard)

    async def _drain(self) -> None:
        sent = 0
        while self._queue:
            recipient_id, text = self._queue.pop(0)
            try:
                await self.parent.push(recipient_id, [text])
                sent += 1
            except ApiError:
                pass  # logged by push; the next message may still go through (e.g. after a timeout)
            except Exception:
                logger.exception("%s.async_delivery_crashed user=%s", self.parent.name(), mask_user(recipient_id))
        logger.info("%s.async_delivered user=%s messages=%d", self.parent.name(), mask_user(recipient_id), sent)


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
        bot_delay: float = 0.0,
        bot_delay_for: str = "",
        rate_limiter: Optional[RateLimiter] = None,
        notice_limiter: Optional[RateLimiter] = None,
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
        self.bot_delay = bot_delay
        self.bot_delay_for = bot_delay_for
        #: messages per user and window; ``notice_limiter`` (1 per window) paces the polite notice
        self.rate_limiter: RateLimiter = rate_limiter or Unlimited()
        self.notice_limiter: RateLimiter = notice_limiter or Unlimited()
        self.background: Set[asyncio.Task[Any]] = set()

    # -- GET --------------------------------------------------------------
    async def verify(self, query: Mapping[str, str]) -> HttpReply:
        try:
            check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce"))
        except SignatureError as error:
            logger.warning("%s.verify_refused reason=%s", self.product, error)
            return _forbidden(str(error))
        logger.info("%s.url_verified", self.product)
        return HttpReply(200, query.get("echostr", ""))

    # -- POST -------------------------------------------------------------
    def unwrap(self, query: Mapping[str, str], body: bytes) -> Tuple[Dict[str, str], bool]:
        """Check the signature, then decrypt if needed: (inner fields, encrypted?)."""
        check_signature(self.token, query.get("signature"), query.get("timestamp"), query.get("nonce"))
        if query.get("encrypt_type", "raw").lower() != "aes":
            return parse_xml(body), False
        outer = parse_xml(body)
        if self.crypto is None:
            if outer.get("MsgType"):  # compatible mode carries the plaintext too
                return outer, False
            raise MalformedXML("safe-mode message but no EncodingAESKey is configured")
        encrypt = outer.get("Encrypt", "")
        if not encrypt:
            raise MalformedXML("encrypt_type=aes without an Encrypt element")
        inner = self.crypto.decrypt_checked(encrypt, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
        return parse_xml(inner), True

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

        with conversation(message.from_user):
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
            logger.info("%s.retry_deduplicated user=%s key=%s", self.product, mask_user(message.from_user), message.dedup_key())
            return self.seal(outcome.reply_xml if outcome else None, encrypted)

        reply_xml: Optional[str] = None
        try:
            reply_xml = await self.handle(message, started, on_new_message, probe)
        except Exception:
            logger.exception("%s.handling_failed user=%s", self.product, mask_user(message.from_user))
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
            "%s.received user=%s type=%s decision=%s", self.product, mask_user(user), message.msg_type, decision.kind
        )
        if decision.kind == IGNORE:
            return None
        if decision.kind == UNSUBSCRIBE:
            await self.memory.record_unsubscribe(user, time.time())
            logger.info("%s.unsubscribed user=%s at=%s", self.product, mask_user(user), message.create_time)
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
            return self._passive_then_api(message, split_text(rendered.text))
        return await self._bot_turn(message, decision.text, started, on_new_message)

    def _rate_key(self, user: str) -> str:
        return f"{self.product}:{self.receive_id}:{user}"

    async def _rate_limited(self, message: InboundMessage, probe: Optional[ConversationProbe]) -> Optional[str]:
        """Over the limit: no bot turn. The first refused message of a window gets one polite passive
        reply (free: no customer-service API call); the rest get ``success``, which WeChat never retries."""
        user = message.from_user
        notify = await self.notice_limiter.allow(self._rate_key(user))
        logger.info("%s.rate_limited user=%s notice=%s", self.product, mask_user(user), notify)
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
            language, paused = await probe(user)
        except Exception as error:
            logger.warning("%s.tracker_unavailable error=%s", self.product, type(error).__name__)
            return DEFAULT_LANGUAGE, False
        return language or DEFAULT_LANGUAGE, paused

    def _passive_then_api(self, message: InboundMessage, texts: List[str]) -> Optional[str]:
        """The first text as the passive reply; the rest through the API, in order."""
        if not texts:
            return None
        first, rest = texts[0], pack_texts(texts[1:], MAX_API_MESSAGES_PER_TURN)
        if rest:
            TurnOutput(self.output, self.background).release(message.from_user, rest)
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
        turn_output = TurnOutput(self.output, self.background)
        user_message = UserMessage(
            text=choice or text,
            output_channel=turn_output,
            sender_id=user,
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
            return self._passive_then_api(message, turn_output.collected)
        # too late for a passive reply: answer `success`, deliver through the API
        logger.info("%s.reply_async user=%s", self.product, mask_user(user))
        pending, turn_output.collected = turn_output.collected, []
        turn_output.release(user, pending)
        return None

    async def _run(self, user_message: UserMessage, on_new_message: OnNewMessage) -> None:
        try:
            if self.bot_delay > 0 and (user_message.sender_id or "").startswith(self.bot_delay_for):
                await asyncio.sleep(self.bot_delay)
            with conversation(user_message.sender_id):
                await on_new_message(user_message)
        except Exception:
            logger.exception("%s.bot_turn_failed user=%s", self.product, mask_user(user_message.sender_id))

    async def close(self) -> None:
        for task in list(self.background):
            if not task.done():
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=10)
                except Exception:
                    pass
        await self.output.client.close()


class WeComEndpoint(WeChatEndpoint):
    """WeCom: encrypted ``echostr`` on GET, always-encrypted POSTs with the CorpID."""

    product = "wecom"

    async def verify(self, query: Mapping[str, str]) -> HttpReply:
        assert self.crypto is not None
        echostr = query.get("echostr", "")
        try:
            plain = self.crypto.decrypt_checked(echostr, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
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
        outer = parse_xml(body)
        encrypt = outer.get("Encrypt", "")
        if not encrypt:
            raise MalformedXML("no Encrypt element")
        inner = self.crypto.decrypt_checked(encrypt, query.get("msg_signature"), query.get("timestamp"), query.get("nonce"))
        return parse_xml(inner), True


# -- Rasa input channels ----------------------------------------------------------
def _redis(url: str) -> Any:
    import redis.asyncio

    return redis.asyncio.from_url(url, decode_responses=True)


def _bot_delay() -> Dict[str, Any]:
    """Endpoint arguments for the test-only bot delay; empty unless the variable is set."""
    raw = os.environ.get(TEST_BOT_DELAY_ENV)
    if not raw:
        return {}
    delay, prefix = float(raw), os.environ.get(TEST_BOT_DELAY_FOR_ENV, "")
    logger.warning(
        "wechat.test_bot_delay seconds=%s for=%r (%s is a test-only setting)", delay, prefix, TEST_BOT_DELAY_ENV
    )
    return {"bot_delay": delay, "bot_delay_for": prefix}


def rate_limit_settings(credentials: Optional[Mapping[str, Any]]) -> Tuple[int, float]:
    """(messages, window seconds) per user: ``KEFU_WECHAT_RATE_LIMIT`` / ``KEFU_WECHAT_RATE_WINDOW``,
    else ``rate_limit_messages`` / ``rate_limit_window_seconds`` in credentials.yml, else 20 per 60 s."""
    try:
        limit = int_setting(
            setting(credentials, "rate_limit_messages", "KEFU_WECHAT_RATE_LIMIT", DEFAULT_RATE_LIMIT_MESSAGES),
            "KEFU_WECHAT_RATE_LIMIT",
        )
        window = float_setting(
            setting(
                credentials, "rate_limit_window_seconds", "KEFU_WECHAT_RATE_WINDOW", DEFAULT_RATE_LIMIT_WINDOW_SECONDS
            ),
            "KEFU_WECHAT_RATE_WINDOW",
            minimum=1.0,
        )
    except ValueError as error:
        raise RasaException(f"wechat channel: {error}") from None
    return limit, window


def _rate_limiters(channel_redis: Any, limit: Optional[int], window: Optional[float]) -> Dict[str, RateLimiter]:
    """The per-user limiter and the notice pacer of an endpoint. Redis: ``KEFU_RATE_LIMIT_REDIS_URL``
    when set, else the channel's own ``redis_url``, else in-process."""
    default_limit, default_window = rate_limit_settings(None)
    limit = default_limit if limit is None else limit
    window = default_window if window is None else window
    shared = shared_redis_url()
    client = redis_client(shared) if shared else channel_redis
    return {
        "rate_limiter": rate_limiter(limit, window, prefix="kefu:wechat", client=client),
        "notice_limiter": rate_limiter(1, window, prefix="kefu:wechat:notice", client=client),
    }


def _stores(redis_url: str) -> Tuple[Any, TokenCache, ReplyLedger, UserMemory]:
    if redis_url:
        client = _redis(redis_url)
        return client, RedisTokenCache(client), RedisReplyLedger(client), RedisUserMemory(client)
    return None, InProcessTokenCache(), InProcessReplyLedger(), InProcessUserMemory()


async def tracker_probe(request: Request, sender_id: str) -> Tuple[Optional[str], bool]:
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return None, False
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return None, False
    return tracker.get_slot("language"), tracker.is_paused()


class WeChatInput(InputChannel):
    """WeChat Official Account (公众号) at ``/webhooks/wechat/webhook``."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [k for k in ("token", "appid", "appsecret") if not str(credentials.get(k) or "")]
        if missing:
            raise RasaException(f"wechat channel: credentials missing {missing}")
        return cls(
            token=str(credentials["token"]),
            appid=str(credentials["appid"]),
            appsecret=str(credentials["appsecret"]),
            aes_key=str(credentials.get("aes_key") or ""),
            api_base=str(credentials.get("api_base") or WECHAT_API_BASE),
            redis_url=str(credentials.get("redis_url") or ""),
            click_intents=credentials.get("click_intents") or DEFAULT_CLICK_INTENTS,
            reply_budget=float(credentials.get("reply_budget") or DEFAULT_REPLY_BUDGET),
            max_body_bytes=int(credentials.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
            rate_limit=rate_limit_settings(credentials),
        )

    def __init__(
        self,
        token: str,
        appid: str,
        appsecret: str,
        aes_key: str,
        api_base: str,
        redis_url: str = "",
        click_intents: Mapping[str, str] = DEFAULT_CLICK_INTENTS,
        reply_budget: float = DEFAULT_REPLY_BUDGET,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        rate_limit: Optional[Tuple[int, float]] = None,
    ) -> None:
        self._redis, cache, ledger, memory = _stores(redis_url)
        limit, window = rate_limit if rate_limit is not None else (None, None)
        limiters = _rate_limiters(self._redis, limit, window)
        crypto = _crypto(self.name(), token, aes_key, appid) if aes_key else None
        output = WeChatOutput(WeChatClient(api_base, appid, appsecret, cache), memory)
        self.endpoint = WeChatEndpoint(
            token, appid, crypto, output, ledger, memory,
            click_intents=click_intents, reply_budget=reply_budget,
            max_body_bytes=max_body_bytes, **limiters, **_bot_delay(),
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

        @blueprint.listener("before_server_stop")
        async def close(app: Any, loop: Any) -> None:
            await endpoint.close()
            if self._redis is not None:
                await self._redis.close()

        return blueprint


def _crypto(product: str, token: str, aes_key: str, receive_id: str) -> MessageCrypto:
    try:
        return MessageCrypto(token, aes_key, receive_id)
    except ValueError as error:  # never echo the key itself
        raise RasaException(f"{product} channel: invalid EncodingAESKey: {error}") from None


class WeComInput(WeChatInput):
    """WeCom (企业微信) self-built app at ``/webhooks/wecom/webhook``."""

    @classmethod
    def name(cls) -> str:
        return "wecom"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        missing = [
            k for k in ("corp_id", "agent_id", "secret", "token", "aes_key") if not str(credentials.get(k) or "")
        ]
        if missing:
            raise RasaException(f"wecom channel: credentials missing {missing}")
        return cls(
            corp_id=str(credentials["corp_id"]),
            agent_id=str(credentials["agent_id"]),
            secret=str(credentials["secret"]),
            token=str(credentials["token"]),
            aes_key=str(credentials["aes_key"]),
            api_base=str(credentials.get("api_base") or WECOM_API_BASE),
            redis_url=str(credentials.get("redis_url") or ""),
            click_intents=credentials.get("click_intents") or DEFAULT_CLICK_INTENTS,
            reply_budget=float(credentials.get("reply_budget") or DEFAULT_REPLY_BUDGET),
            max_body_bytes=int(credentials.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
            rate_limit=rate_limit_settings(credentials),
        )

    def __init__(  # type: ignore[override]
        self,
        corp_id: str,
        agent_id: str,
        secret: str,
        token: str,
        aes_key: str,
        api_base: str,
        redis_url: str = "",
        click_intents: Mapping[str, str] = DEFAULT_CLICK_INTENTS,
        reply_budget: float = DEFAULT_REPLY_BUDGET,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        rate_limit: Optional[Tuple[int, float]] = None,
    ) -> None:
        self._redis, cache, ledger, memory = _stores(redis_url)
        limit, window = rate_limit if rate_limit is not None else (None, None)
        limiters = _rate_limiters(self._redis, limit, window)
        crypto = _crypto(self.name(), token, aes_key, corp_id)
        output = WeComOutput(WeComClient(api_base, corp_id, agent_id, secret, cache), memory)
        self.endpoint = WeComEndpoint(
            token, corp_id, crypto, output, ledger, memory,
            click_intents=click_intents, reply_budget=reply_budget,
            max_body_bytes=max_body_bytes, **limiters, **_bot_delay(),
        )
