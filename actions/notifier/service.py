"""One pass of the notifier: restock requests whose product is back, and watched orders whose status changed;
each customer is told once.

Orders: a verified order lookup (``action_order_status``) watches the order for that conversation (the ledger's
``kefu_order_watches``, 30 days or until delivered or cancelled). A pass reads each watched order
(``StoreBackend.get_order``) and, when its status differs from the one the customer was last told, claims the
notice ``order:<watch>:<status>`` and sends the new status with what happens next. A status that changes again
before a held notice went out is told as the newest one; the stale one is never sent.

A pass (:meth:`Notifier.tick`) pages through the store's restock requests (``StoreBackend.list_restock_subscriptions``,
the same source of truth for SQL and for a seller's HTTP system), skips those the ledger has finished, cancels
those of conversations that opted out, reads the stock of the rest (once per SKU), and for each request whose
product is in stock again *claims* its notice in the ledger (one replica wins) and appends the notice to the
customer's conversation through Rasa's HTTP API, on the channel the customer asked on:

- the web widget (``socketio``): delivered live to a connected browser; otherwise it is in the conversation's
  history, which the widget restores on the next visit;
- WeChat and WeCom: a customer-service message, which WeChat accepts only within 48 hours of the customer's last
  message. Outside that window the notice is *held* and retried; it goes out once the customer writes again. A
  channel that refuses for good (unfollowed, blocked) marks it ``failed``.

Rasa or the store being down costs a retry, never a notice: nothing is recorded as sent that Rasa did not take.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from actions.notifier.ledger import FINAL, Ledger, LedgerUnavailable, OrderWatch
from actions.orders import next_step, status_label
from actions.stock.matching import find_product, find_sku, stock_view
from actions.stock.rendering import render_stock, sku_label
from actions.store.types import Catalogue, Location, RestockSubscription, StockLevel, StoreBackend, StoreError
from kernel.i18n import text
from kernel.logs import mask_id
from kernel.rasa_client import DeliveryRefused, RasaClient, RasaUnavailable

log = logging.getLogger("kefu.notifier")

#: Channels whose platform takes a message only within a window after the customer's last message.
WINDOW_CHANNELS = frozenset({"wechat", "wecom"})
#: WeChat errcodes that mean "not now" (48-hour window, too many messages) rather than "never".
RETRY_ERRCODES = frozenset({"45015", "45047"})
PAGE = 500
#: order statuses after which nothing more happens: the watch ends once the customer was told
FINAL_ORDER_STATUSES = frozenset({"delivered", "cancelled"})


@dataclass(frozen=True)
class NotifierSettings:
    window: timedelta = timedelta(hours=48)
    #: a notice is sent only when the window has at least this much left (clocks and queues differ)
    window_margin: timedelta = timedelta(minutes=30)
    #: when a held notice (window closed) is looked at again
    held_retry: timedelta = timedelta(minutes=5)
    #: when a notice is tried again after Rasa did not answer
    error_retry: timedelta = timedelta(minutes=1)


@dataclass
class TickReport:
    subscriptions: int = 0
    pending: int = 0
    in_stock: int = 0
    sent: int = 0
    held: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped_claimed: int = 0
    orders_watched: int = 0
    errors: List[str] = field(default_factory=list)

    def to_json(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def notice_key(sub: RestockSubscription) -> str:
    return f"restock:{sub.id}"


class Notifier:
    def __init__(self, store: StoreBackend, ledger: Ledger, rasa: RasaClient,
                 settings: Optional[NotifierSettings] = None) -> None:
        self.store = store
        self.ledger = ledger
        self.rasa = rasa
        self.settings = settings or NotifierSettings()

    # -- reading the store (blocking calls, run in a thread) --------------------------------------
    def _all_subscriptions(self) -> List[RestockSubscription]:
        out: List[RestockSubscription] = []
        after = 0
        while True:
            page = list(self.store.list_restock_subscriptions(after, PAGE))
            out.extend(page)
            if len(page) < PAGE:
                return out
            after = page[-1].id

    async def tick(self) -> TickReport:
        report = await self._restock_pass()
        await self._order_pass(report)
        return report

    async def _opted_out(self, channel: str, sender_id: str, since: Optional[datetime],
                         cache: Dict[Tuple[str, str], Optional[datetime]]) -> bool:
        """Whether the conversation opted out after ``since`` (the request or the watch began)."""
        who = (channel, sender_id)
        if who not in cache:
            cache[who] = await asyncio.to_thread(self.ledger.opted_out_at, *who)
        opted = cache[who]
        return opted is not None and (since is None or since <= opted)

    # -- order status changes ----------------------------------------------------------------------
    async def _order_pass(self, report: TickReport) -> None:
        try:
            watches = await asyncio.to_thread(self.ledger.active_watches)
        except LedgerUnavailable as error:
            report.errors.append(str(error)[:200])
            return
        report.orders_watched = len(watches)
        optouts: Dict[Tuple[str, str], Optional[datetime]] = {}
        for watch in watches:
            try:
                await self._one_order(watch, optouts, report)
            except (StoreError, LedgerUnavailable) as error:
                report.errors.append(str(error)[:200])
                log.warning("order watch %s not handled this pass: %s", watch.id, error)

    async def _one_order(self, watch: OrderWatch, optouts: Dict[Tuple[str, str], Optional[datetime]],
                         report: TickReport) -> None:
        if await self._opted_out(watch.channel, watch.sender_id, watch.created_at, optouts):
            await asyncio.to_thread(self.ledger.end_watch, watch.id)
            report.cancelled += 1
            return
        order = await asyncio.to_thread(self.store.get_order, watch.order_id)
        if order is None:
            await asyncio.to_thread(self.ledger.end_watch, watch.id)
            return
        if order.status == watch.status:
            return
        key = f"order:{watch.id}:{order.status}"
        if not await asyncio.to_thread(self.ledger.claim, key, "order", watch.channel, watch.sender_id):
            report.skipped_claimed += 1
            return
        lang = watch.language
        message = "\n".join((
            text("msg_order_update", lang, order_id=order.order_id, status=status_label(order.status, lang)),
            next_step(order, lang),
            text("msg_notice_optout_hint", lang),
        ))
        outcome = await self.deliver(key, watch.channel, watch.sender_id, message)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome == "sent":
            await asyncio.to_thread(self.ledger.watch_told, watch.id, order.status,
                                    order.status not in FINAL_ORDER_STATUSES)
        elif outcome == "failed":
            await asyncio.to_thread(self.ledger.end_watch, watch.id)

    # -- restock -----------------------------------------------------------------------------------
    async def _restock_pass(self) -> TickReport:
        report = TickReport()
        try:
            subs = await asyncio.to_thread(self._all_subscriptions)
            states = await asyncio.to_thread(self.ledger.states, [notice_key(s) for s in subs])
        except (StoreError, LedgerUnavailable) as error:
            report.errors.append(str(error)[:200])
            log.warning("notifier pass skipped: %s", error)
            return report
        report.subscriptions = len(subs)
        pending = [s for s in subs if states.get(notice_key(s)) not in FINAL]
        report.pending = len(pending)
        if not pending:
            return report
        try:
            catalogue, locations = await asyncio.to_thread(lambda: (self.store.catalogue(), self.store.locations()))
        except StoreError as error:
            report.errors.append(str(error)[:200])
            log.warning("notifier pass skipped, store unavailable: %s", error)
            return report
        levels: Dict[str, Sequence[StockLevel]] = {}
        optouts: Dict[Tuple[str, str], Optional[datetime]] = {}
        for sub in pending:
            try:
                await self._one(sub, catalogue, locations, levels, optouts, report)
            except (StoreError, LedgerUnavailable) as error:
                report.errors.append(str(error)[:200])
                log.warning("restock notice %s not handled this pass: %s", notice_key(sub), error)
        return report

    async def _one(self, sub: RestockSubscription, catalogue: Catalogue, locations: Sequence[Location],
                   levels: Dict[str, Sequence[StockLevel]], optouts: Dict[Tuple[str, str], Optional[datetime]],
                   report: TickReport) -> None:
        req = sub.request
        key = notice_key(sub)
        if await self._opted_out(req.channel, req.sender_id, sub.created_at, optouts):
            await asyncio.to_thread(self.ledger.cancel, key, "restock", req.channel, req.sender_id)
            report.cancelled += 1
            return
        sku = find_sku(catalogue, req.sku_code)
        product = find_product(catalogue, sku.product_id) if sku else None
        if sku is None or product is None:
            return  # no longer sold: nothing will come back in stock
        if req.sku_code not in levels:
            levels[req.sku_code] = await asyncio.to_thread(self.store.stock_for_sku, req.sku_code)
        view = stock_view(product, sku, levels[req.sku_code], locations, req.city or "online")
        if view.case == "out_everywhere":
            return
        report.in_stock += 1
        if not await asyncio.to_thread(self.ledger.claim, key, "restock", req.channel, req.sender_id):
            report.skipped_claimed += 1
            return
        label = sku_label(product, sku, req.sku_code, req.language)
        stock_text, card, buttons = render_stock(view, req.language)
        message = "\n".join((text("msg_restock_back", req.language, product=label), stock_text,
                             text("msg_restock_optout_hint", req.language)))
        outcome = await self.deliver(key, req.channel, req.sender_id, message, card)
        setattr(report, outcome, getattr(report, outcome) + 1)

    async def deliver(self, key: str, channel: str, sender_id: str, message: str,
                      card: Optional[Dict[str, Any]] = None) -> str:
        """Send one claimed notice; records and returns the outcome: ``sent``, ``held`` or ``failed``."""
        now = datetime.now(timezone.utc)
        settings = self.settings
        try:
            if channel in WINDOW_CHANNELS:
                last = await self.rasa.last_user_message_at(sender_id)
                left = None if last is None else (last + settings.window.total_seconds()) - time.time()
                if left is None or left < settings.window_margin.total_seconds():
                    await asyncio.to_thread(self.ledger.held, key, now + settings.held_retry,
                                            "outside the channel's reply window: kept for the customer's next message")
                    return "held"
            event: Dict[str, Any] = {"event": "bot", "text": message, "timestamp": time.time(),
                                     "metadata": {"kefu_notice": key}}
            if card:
                event["data"] = {"custom": card}
            await self.rasa.append_events(sender_id, [event], output_channel=channel)
        except DeliveryRefused as refused:
            if refused.errcode in RETRY_ERRCODES:
                await asyncio.to_thread(self.ledger.held, key, now + settings.held_retry, refused.reason)
                return "held"
            log.warning("restock notice %s for %s refused for good: %s", key, mask_id(sender_id), refused.reason)
            await asyncio.to_thread(self.ledger.failed, key, refused.reason)
            return "failed"
        except RasaUnavailable as error:
            await asyncio.to_thread(self.ledger.held, key, now + settings.error_retry, str(error))
            return "held"
        await asyncio.to_thread(self.ledger.sent, key)
        log.info("restock notice %s sent to %s on %s", key, mask_id(sender_id), channel)
        return "sent"
