"""The customer-service message API of WeChat and WeCom, with one access_token cache.

- ``access_token`` is fetched once and shared: N messages cause one fetch, not
  N (a lock makes concurrent callers wait for the fetch in flight; with Redis
  the lock and the token are shared by every replica).
- It is refreshed early, ``REFRESH_MARGIN`` before WeChat's 7200 s expiry.
- When the API answers 40001, 40014 or 42001 (invalid / expired token), the
  token is dropped (only if nobody replaced it meanwhile), refetched once, and
  the call retried once.
- Neither the token nor the secrets are ever logged: log lines name the API
  path without its query string.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Dict, Mapping, Optional, Protocol

import aiohttp

logger = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: "system busy": worth one more try.
BUSY_ERRORS = frozenset({-1})
REFRESH_MARGIN = 300.0
DEFAULT_TIMEOUT = 5.0


class ApiError(Exception):
    """The API answered with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, path: str) -> None:
        super().__init__(f"{path}: errcode {errcode} ({errmsg})")
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path


class ApiUnavailable(ApiError):
    """Timeout, connection error or a non-JSON answer."""

    def __init__(self, reason: str, path: str) -> None:
        super().__init__(-2, reason, path)


# -- access_token cache -------------------------------------------------------
@dataclass(frozen=True)
class CachedToken:
    value: str
    refresh_at: float  # epoch seconds: fetch a new one from here on
    expires_at: float  # epoch seconds: WeChat stops accepting it

    def fresh(self, now: float) -> bool:
        return now < self.refresh_at

    def usable(self, now: float) -> bool:
        return now < self.expires_at


def token_from_answer(answer: Mapping[str, Any], now: float, margin: float = REFRESH_MARGIN) -> CachedToken:
    """Pure: the cache entry for a token endpoint's JSON answer."""
    expires_in = float(answer.get("expires_in") or 7200)
    refresh_in = max(expires_in - margin, expires_in / 2)
    return CachedToken(str(answer["access_token"]), now + refresh_in, now + expires_in)


class TokenCache(Protocol):
    async def get(self, key: str) -> Optional[CachedToken]: ...

    async def put(self, key: str, token: CachedToken) -> None: ...

    async def invalidate(self, key: str, value: str) -> None:
        """Drop the token if it is still ``value``."""

    def fetch_lock(self, key: str) -> Any:
        """An async context manager held while fetching a new token."""


class InProcessTokenCache:
    def __init__(self) -> None:
        self._tokens: Dict[str, CachedToken] = {}
        self._locks: Dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> Optional[CachedToken]:
        return self._tokens.get(key)

    async def put(self, key: str, token: CachedToken) -> None:
        self._tokens[key] = token

    async def invalidate(self, key: str, value: str) -> None:
        current = self._tokens.get(key)
        if current is not None and current.value == value:
            del self._tokens[key]

    def fetch_lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())


_COMPARE_AND_DELETE = """
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['value'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisTokenCache:
    """One token for every replica; a Redis lock makes the fetch single-flight."""

    def __init__(self, redis: Any, prefix: str = "kefu:wechat:token", lock_timeout: float = 15.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.lock_timeout = lock_timeout

    async def get(self, key: str) -> Optional[CachedToken]:
        raw = await self.redis.get(f"{self.prefix}:{key}")
        if not raw:
            return None
        data = json.loads(raw)
        return CachedToken(data["value"], float(data["refresh_at"]), float(data["expires_at"]))

    async def put(self, key: str, token: CachedToken) -> None:
        ttl = max(int(token.expires_at - time.time()), 1)
        data = {"value": token.value, "refresh_at": token.refresh_at, "expires_at": token.expires_at}
        await self.redis.set(f"{self.prefix}:{key}", json.dumps(data), ex=ttl)

    async def invalidate(self, key: str, value: str) -> None:
        await self.redis.eval(_COMPARE_AND_DELETE, 1, f"{self.prefix}:{key}", value)

    @asynccontextmanager
    async def fetch_lock(self, key: str) -> AsyncIterator[None]:
        lock = self.redis.lock(
            f"{self.prefix}:{key}:lock", timeout=self.lock_timeout, blocking_timeout=self.lock_timeout
        )
        acquired = await lock.acquire()
        try:
            yield
        finally:
            if acquired:
                try:
                    await lock.release()
                except Exception:  # expired meanwhile: another replica may hold it now
                    logger.debug("wechat.token_lock_release_failed")


# -- API clients ----------------------------------------------------------------
class CustomerServiceClient(ABC):
    """Base: token handling and JSON calls. Subclasses name the endpoints."""

    token_path = ""
    send_path = ""

    def __init__(
        self,
        api_base: str,
        cache: TokenCache,
        timeout: float = DEFAULT_TIMEOUT,
        refresh_margin: float = REFRESH_MARGIN,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.cache = cache
        self.timeout = timeout
        self.refresh_margin = refresh_margin
        self._session: Optional[aiohttp.ClientSession] = None
        self.token_fetches = 0

    @property
    @abstractmethod
    def cache_key(self) -> str:
        """Where this account's token is cached (one key per app)."""

    @abstractmethod
    def token_params(self) -> Dict[str, str]:
        """Query parameters of the token request."""

    @abstractmethod
    def text_body(self, user: str, text: str) -> Dict[str, Any]:
        """JSON body that sends ``text`` to ``user``."""

    def check_answer(self, answer: Mapping[str, Any]) -> None:  # noqa: B027 - a hook: most APIs need no check
        """Raise :class:`ApiError` for an answer that is an error despite errcode 0."""

    # -- HTTP -------------------------------------------------------------
    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _call(self, method: str, path: str, params: Dict[str, str], body: Any = None) -> Dict[str, Any]:
        url = self.api_base + path
        try:
            data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
            async with self._http().request(method, url, params=params, data=data, headers=headers) as resp:
                raw = await resp.read()
                if resp.status >= 500:
                    raise ApiUnavailable(f"HTTP {resp.status}", path)
        except asyncio.TimeoutError:
            raise ApiUnavailable("timeout", path) from None
        except aiohttp.ClientError as error:
            # the exception text can carry the URL (and the token): log the type only
            raise ApiUnavailable(type(error).__name__, path) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ApiUnavailable("answer is not JSON", path) from None
        if not isinstance(answer, dict):
            raise ApiUnavailable("answer is not a JSON object", path)
        errcode = int(answer.get("errcode") or 0)
        if errcode:
            raise ApiError(errcode, str(answer.get("errmsg", "")), path)
        return answer

    # -- token ------------------------------------------------------------
    async def _fetch_token(self) -> CachedToken:
        self.token_fetches += 1
        answer = await self._call("GET", self.token_path, self.token_params())
        if not answer.get("access_token"):
            raise ApiUnavailable("token answer without access_token", self.token_path)
        logger.info("wechat.token_fetched path=%s expires_in=%s", self.token_path, answer.get("expires_in"))
        return token_from_answer(answer, time.time(), self.refresh_margin)

    async def access_token(self) -> str:
        cached = await self.cache.get(self.cache_key)
        if cached is not None and cached.fresh(time.time()):
            return cached.value
        async with self.cache.fetch_lock(self.cache_key):
            cached = await self.cache.get(self.cache_key)
            if cached is not None and cached.fresh(time.time()):
                return cached.value
            try:
                token = await self._fetch_token()
            except ApiError:
                if cached is not None and cached.usable(time.time()):
                    logger.warning("wechat.token_refresh_failed using the still valid token")
                    return cached.value
                raise
            await self.cache.put(self.cache_key, token)
            return token.value

    # -- sending ----------------------------------------------------------
    async def send_text(self, user: str, text: str) -> None:
        """Send one text (already within the length limit) to ``user``."""
        refetched = retried = False
        while True:
            token = await self.access_token()
            try:
                answer = await self._call("POST", self.send_path, {"access_token": token}, self.text_body(user, text))
                self.check_answer(answer)
                return
            except ApiUnavailable:
                if retried:
                    raise
                retried = True
                logger.warning("wechat.api_unavailable path=%s retrying once", self.send_path)
            except ApiError as error:
                if error.errcode in TOKEN_ERRORS and not refetched:
                    refetched = True
                    logger.info("wechat.token_rejected errcode=%s refetching once", error.errcode)
                    await self.cache.invalidate(self.cache_key, token)
                elif error.errcode in BUSY_ERRORS and not retried:
                    retried = True
                    await asyncio.sleep(0.2)
                else:
                    raise


class WeChatClient(CustomerServiceClient):
    """Official Account: ``/cgi-bin/token`` and ``/cgi-bin/message/custom/send``."""

    token_path = "/cgi-bin/token"
    send_path = "/cgi-bin/message/custom/send"

    def __init__(self, api_base: str, appid: str, appsecret: str, cache: TokenCache, **kwargs: Any) -> None:
        super().__init__(api_base, cache, **kwargs)
        self.appid = appid
        self._appsecret = appsecret

    def __repr__(self) -> str:  # never show the secret
        return f"WeChatClient(api_base={self.api_base!r}, appid={self.appid!r})"

    @property
    def cache_key(self) -> str:
        return f"wechat:{self.appid}"

    def token_params(self) -> Dict[str, str]:
        return {"grant_type": "client_credential", "appid": self.appid, "secret": self._appsecret}

    def text_body(self, user: str, text: str) -> Dict[str, Any]:
        return {"touser": user, "msgtype": "text", "text": {"content": text}}


class WeComClient(CustomerServiceClient):
    """WeCom app: ``/cgi-bin/gettoken`` and ``/cgi-bin/message/send``."""

    token_path = "/cgi-bin/gettoken"
    send_path = "/cgi-bin/message/send"

    def __init__(
        self, api_base: str, corp_id: str, agent_id: str, secret: str, cache: TokenCache, **kwargs: Any
    ) -> None:
        super().__init__(api_base, cache, **kwargs)
        self.corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret

    def __repr__(self) -> str:
        return f"WeComClient(api_base={self.api_base!r}, corp_id={self.corp_id!r}, agent_id={self.agent_id!r})"

    @property
    def cache_key(self) -> str:
        return f"wecom:{self.corp_id}:{self.agent_id}"

    def token_params(self) -> Dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self._secret}

    def text_body(self, user: str, text: str) -> Dict[str, Any]:
        agent: Any = int(self.agent_id) if str(self.agent_id).isdigit() else self.agent_id
        return {"touser": user, "msgtype": "text", "agentid": agent, "text": {"content": text}}

    def check_answer(self, answer: Mapping[str, Any]) -> None:
        if answer.get("invaliduser"):
            raise ApiError(81013, "invalid user", self.send_path)
