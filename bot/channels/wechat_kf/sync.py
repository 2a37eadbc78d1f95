"""The ``kf/sync_msg`` loop: pull with the stored cursor, hand each customer message to the bot
once, then store the cursor.

For one account (``open_kfid``), in order:

1. read the stored cursor and pull a page (with the callback's ``token`` when there is one);
2. system events update the WeCom-side session state (:meth:`Syncer.on_event`); servicer messages
   (``origin`` 5) are ignored; a customer message (``origin`` 3) is claimed by msgid in the ledger
   (:mod:`bot.channels.wechat_kf.state`), handed to the bot, and marked done. Customers are
   handled concurrently (at most :data:`CONCURRENCY`), each customer's messages in order;
3. only when every message of the page is done is ``next_cursor`` stored; ``has_more`` pulls on.

A crash anywhere repeats nothing and loses nothing: before step 3 the next pull returns the same
page again, and the ledger skips what is done; a message claimed by a process that died is
checked against the conversation (``handled``: its user event carries ``message_id``
``wxkf-<msgid>``) before it is handed again. A message another live replica is handling
(``busy``) stops the page without storing the cursor; the pull is repeated after the lease.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Set

from bot.channels.wechat_kf.client import MAX_PAGE, KfClient
from bot.channels.wechat_kf.protocol import (
    CHANGE_ENDED,
    FAIL_TYPES,
    ORIGIN_CUSTOMER,
    ORIGIN_SYSTEM,
    KfMessage,
)
from bot.channels.wechat_kf.state import BUSY, DONE, LEASE_SECONDS, STALE
from kernel.logs import mask_id

logger = logging.getLogger(__name__)

#: Customers whose turns run at the same time while a page is handed over.
CONCURRENCY = 8
#: A page stops at most this often in a row before the pull waits for the lease.
MAX_ROUNDS = 50

Hand = Callable[[KfMessage], Awaitable[None]]
Handled = Callable[[KfMessage], Awaitable[bool]]
Ready = Callable[[], Awaitable[bool]]


async def always_ready() -> bool:
    return True


class PageBusy(Exception):
    """A message of the page is being handled by another replica: the cursor stays."""


class Syncer:
    def __init__(
        self,
        client: KfClient,
        state: Any,
        open_kfids: Iterable[str],
        hand: Hand,
        handled: Handled,
        page_limit: int = MAX_PAGE,
        retry_after: float = LEASE_SECONDS,
        ready: Ready = always_ready,
    ) -> None:
        self.client = client
        self.state = state
        self.open_kfids = list(open_kfids)
        self.hand = hand
        self.handled = handled
        self.page_limit = page_limit
        self.retry_after = retry_after
        #: whether the bot can take messages (Rasa's agent is loaded); if not, the page waits
        self.ready = ready
        self._locks: Dict[str, asyncio.Lock] = {}
        self._again: Dict[str, Optional[str]] = {}  # open_kfid -> token of a callback that came during a pull
        self._tasks: Set[asyncio.Task[Any]] = set()
        self._closing = False

    # -- scheduling -----------------------------------------------------------
    def schedule(self, open_kfid: str, token: str = "", delay: float = 0.0) -> None:
        """Pull ``open_kfid`` in the background (a callback answers at once). A pull already
        running for that account does one more round afterwards instead."""
        if self._closing:
            return
        lock = self._locks.setdefault(open_kfid, asyncio.Lock())
        if lock.locked() and not delay:
            self._again[open_kfid] = token
            return
        task = asyncio.create_task(self._scheduled(open_kfid, token, delay), name=f"kefu-wxkf-sync-{open_kfid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def schedule_all(self) -> None:
        for open_kfid in self.open_kfids:
            self.schedule(open_kfid)

    async def _scheduled(self, open_kfid: str, token: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        try:
            await self.sync(open_kfid, token)
        except Exception as error:  # the API or the database is down: the next callback pulls again
            logger.error("wxkf.sync_failed open_kfid=%s error=%s", open_kfid, _reason(error))

    async def close(self) -> None:
        """Let running pulls finish their page (bounded), cancel waiting retries."""
        self._closing = True
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=15)
            for task in pending:
                task.cancel()

    # -- one account ------------------------------------------------------------
    async def sync(self, open_kfid: str, token: str = "") -> int:
        """Pull until ``has_more`` is false; the number of messages handed to the bot."""
        lock = self._locks.setdefault(open_kfid, asyncio.Lock())
        handed = 0
        async with lock:
            while True:
                try:
                    handed += await self._pull(open_kfid, token)
                except PageBusy:
                    logger.info("wxkf.page_busy open_kfid=%s retry_in=%.0fs", open_kfid, self.retry_after)
                    self._again.pop(open_kfid, None)
                    self.schedule(open_kfid, "", delay=self.retry_after)
                    return handed
                if open_kfid not in self._again:
                    return handed
                token = self._again.pop(open_kfid) or token

    async def _pull(self, open_kfid: str, token: str) -> int:
        handed = 0
        for _ in range(MAX_ROUNDS):
            cursor = await self.state.cursor(open_kfid)
            page = await self.client.sync_msg(open_kfid, cursor, token, self.page_limit)
            messages = [KfMessage.from_json(m) for m in page.messages]
            if messages and not await self.ready():
                raise PageBusy("the bot is not ready")
            handed += await self._handle_page(messages)
            if page.next_cursor:
                await self.state.save_cursor(open_kfid, page.next_cursor)
            logger.info(
                "wxkf.page_done open_kfid=%s messages=%d has_more=%s", open_kfid, len(messages), page.has_more
            )
            if not page.has_more:
                return handed
        return handed

    async def _handle_page(self, messages: List[KfMessage]) -> int:
        by_customer: Dict[str, List[KfMessage]] = {}
        for message in messages:
            if message.origin == ORIGIN_SYSTEM:
                await self.on_event(message)
            elif message.origin == ORIGIN_CUSTOMER and message.from_customer:
                by_customer.setdefault(f"{message.open_kfid}:{message.external_userid}", []).append(message)
            else:  # origin 5: a servicer wrote from the WeCom client; nothing for the bot
                logger.debug("wxkf.ignored origin=%s msgtype=%s", message.origin, message.msgtype)
        limit = asyncio.Semaphore(CONCURRENCY)

        async def customer(queue: List[KfMessage]) -> int:
            async with limit:
                count = 0
                for message in queue:
                    count += await self._one(message)
                return count

        results = await asyncio.gather(*(customer(q) for q in by_customer.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(int(r) for r in results)

    async def _one(self, message: KfMessage) -> int:
        outcome = await self.state.claim(message.msgid)
        if outcome == DONE:
            logger.info("wxkf.duplicate_skipped msgid=%s user=%s", message.msgid, mask_id(message.external_userid))
            return 0
        if outcome == BUSY:
            raise PageBusy(message.msgid)
        if outcome == STALE and await self._already_handled(message):
            logger.warning("wxkf.recovered msgid=%s was handed before a restart", message.msgid)
            await self.state.done(message.msgid)
            return 0
        if await self.state.servicer(message.open_kfid, message.external_userid):
            # a servicer took the session in the WeCom client: they answer there, the bot stays out
            logger.info("wxkf.served_in_wecom msgid=%s user=%s", message.msgid, mask_id(message.external_userid))
            await self.state.done(message.msgid)
            return 0
        try:
            await self.hand(message)
        except Exception:  # one failing turn never blocks the account's cursor
            logger.exception("wxkf.turn_failed msgid=%s user=%s", message.msgid, mask_id(message.external_userid))
        await self.state.done(message.msgid)
        return 1

    async def _already_handled(self, message: KfMessage) -> bool:
        try:
            return await self.handled(message)
        except Exception as error:  # the tracker store is down: do not hand twice, try again later
            logger.error("wxkf.tracker_unavailable error=%s", _reason(error))
            raise PageBusy(message.msgid) from None

    # -- system events --------------------------------------------------------------
    async def on_event(self, message: KfMessage) -> None:
        event = message.part("event")
        kind = message.event_type
        user = message.external_userid
        if kind == "session_status_change":
            change = int(event.get("change_type") or 0)
            servicer = "" if change == CHANGE_ENDED else str(event.get("new_servicer_userid") or "servicer")
            await self.state.set_servicer(message.open_kfid, user, servicer)
            logger.info("wxkf.session_changed user=%s change_type=%s wecom_servicer=%s",
                        mask_id(user), change, bool(servicer))
        elif kind == "msg_send_fail":
            fail_type = int(event.get("fail_type") or 0)
            logger.error("wxkf.delivery_failed user=%s msgid=%s fail_type=%s (%s)", mask_id(user),
                         event.get("fail_msgid"), fail_type, FAIL_TYPES.get(fail_type, "unknown"))
        else:
            logger.info("wxkf.event type=%s user=%s", kind or "?", mask_id(user))


def _reason(error: BaseException) -> str:
    return f"errcode {error.errcode}" if hasattr(error, "errcode") else type(error).__name__
