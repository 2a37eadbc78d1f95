"""The 微信客服 (WeChat Customer Service) API of WeCom: ``kf/sync_msg`` and ``kf/send_msg``.

The access_token comes from ``/cgi-bin/gettoken`` with the CorpID and the 微信客服 Secret, and
is cached, refreshed and retried exactly like the other WeChat APIs
(:class:`bot.channels.wechat.client.CustomerServiceClient`).

The outbox (:mod:`bot.channels.wechat.outbox`) and the output channel address one recipient with
one string; here that string is ``<open_kfid>:<external_userid>`` (:func:`recipient`), since
``kf/send_msg`` needs both the account that speaks and the customer.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

from bot.channels.wechat.client import (
    BUSY_ERRORS,
    TOKEN_ERRORS,
    ApiError,
    ApiUnavailable,
    CustomerServiceClient,
    TokenCache,
)

logger = logging.getLogger(__name__)

SYNC_PATH = "/cgi-bin/kf/sync_msg"
SEND_PATH = "/cgi-bin/kf/send_msg"
#: The documented maximum (and default) of ``limit``.
MAX_PAGE = 1000


def recipient(open_kfid: str, external_userid: str) -> str:
    """The outbox's recipient string of one customer of one account."""
    return f"{open_kfid}:{external_userid}"


def split_recipient(value: str) -> Tuple[str, str]:
    """``"wk1:wm2"`` → ``("wk1", "wm2")``; :class:`ValueError` when a part is missing."""
    open_kfid, sep, external_userid = value.partition(":")
    if not (sep and open_kfid and external_userid):
        raise ValueError("a 微信客服 recipient is <open_kfid>:<external_userid>")
    return open_kfid, external_userid


@dataclass(frozen=True)
class SyncPage:
    """One answer of ``kf/sync_msg``."""

    next_cursor: str
    has_more: bool
    messages: List[Dict[str, Any]]

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> SyncPage:
        raw = answer.get("msg_list") or []
        if not isinstance(raw, list):
            raise ApiUnavailable("msg_list is not a list", SYNC_PATH)
        return cls(
            next_cursor=str(answer.get("next_cursor") or ""),
            has_more=bool(int(answer.get("has_more") or 0)),
            messages=[m for m in raw if isinstance(m, dict)],
        )


class KfClient(CustomerServiceClient):
    """``/cgi-bin/gettoken`` (CorpID + the 微信客服 Secret), ``kf/sync_msg`` and ``kf/send_msg``."""

    token_path = "/cgi-bin/gettoken"
    send_path = SEND_PATH

    def __init__(self, api_base: str, corp_id: str, secret: str, cache: TokenCache, **kwargs: Any) -> None:
        super().__init__(api_base, cache, **kwargs)
        self.corp_id = corp_id
        self._secret = secret

    def __repr__(self) -> str:  # never show the secret
        return f"KfClient(api_base={self.api_base!r}, corp_id={self.corp_id!r})"

    @property
    def cache_key(self) -> str:
        return f"wxkf:{self.corp_id}"

    def token_params(self) -> Dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self._secret}

    def text_body(self, user: str, text: str) -> Dict[str, Any]:
        open_kfid, external_userid = split_recipient(user)
        return {"touser": external_userid, "open_kfid": open_kfid, "msgtype": "text", "text": {"content": text}}

    async def post(self, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """One JSON call with the token: a rejected token is refetched once, a busy or unreachable
        API is tried once more; any other errcode is raised as :class:`ApiError`."""
        refetched = retried = False
        while True:
            token = await self.access_token()
            try:
                return await self._call("POST", path, {"access_token": token}, body)
            except ApiUnavailable:
                if retried:
                    raise
                retried = True
                logger.warning("wxkf.api_unavailable path=%s retrying once", path)
            except ApiError as error:
                if error.errcode in TOKEN_ERRORS and not refetched:
                    refetched = True
                    await self.cache.invalidate(self.cache_key, token)
                elif error.errcode in BUSY_ERRORS and not retried:
                    retried = True
                    await asyncio.sleep(0.2)
                else:
                    raise

    async def sync_msg(self, open_kfid: str, cursor: str = "", token: str = "", limit: int = MAX_PAGE) -> SyncPage:
        """One page of messages after ``cursor`` (empty: the oldest of the last 3 days)."""
        body: Dict[str, Any] = {"limit": max(1, min(int(limit), MAX_PAGE)), "voice_format": 0, "open_kfid": open_kfid}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        return SyncPage.from_answer(await self.post(SYNC_PATH, body))
