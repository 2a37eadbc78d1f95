"""bot.lock_store.AtomicRedisLockStore: two replicas' lock stores never issue one ticket twice."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore

# Runs in .venv-rasa (Rasa 3.6, Python 3.10): `make test-rasa-env`; tests/conftest.py routes it there.
pytestmark = pytest.mark.rasa_env


def _store(url: str, prefix: str) -> AtomicRedisLockStore:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    config = EndpointConfig.from_dict({"type": "bot.lock_store.AtomicRedisLockStore", "url": parsed.hostname,
                                       "port": parsed.port or 6379, "db": 3, "key_prefix": prefix})
    return AtomicRedisLockStore(endpoint_config=config)


def test_concurrent_replicas_get_distinct_tickets_and_the_lock_is_cleaned_up(redis_url: str) -> None:
    prefix = "t" + uuid.uuid4().hex[:10]
    replicas = [_store(redis_url, prefix), _store(redis_url, prefix)]
    conversation = "c-" + uuid.uuid4().hex
    tickets: list = []
    errors: list = []

    def issue(store: AtomicRedisLockStore) -> None:
        try:
            for _ in range(150):
                tickets.append(store.issue_ticket(conversation, 60))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue, args=(s,)) for s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(tickets) == 300 and len(set(tickets)) == 300  # Rasa's RedisLockStore can repeat numbers here
    for number in sorted(tickets):
        replicas[number % 2].cleanup(conversation, number)
    assert replicas[0].get_lock(conversation) is None


def test_loads_from_the_endpoints_file_keys(redis_url: str) -> None:
    store = _store(redis_url, "kefu" + uuid.uuid4().hex[:6])
    assert store.key_prefix.startswith("kefu")
    with pytest.raises(redis.exceptions.ConnectionError):  # Redis down: the turn fails, no lock is faked
        _store("redis://127.0.0.1:1", "x").issue_ticket("c", 1)
