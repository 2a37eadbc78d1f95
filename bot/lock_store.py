"""Rasa's Redis lock store, safe with several Rasa replicas.

Rasa 3.6's ``RedisLockStore`` updates a conversation's ticket lock with a plain GET, change,
SET. Two replicas that take a message of the same conversation at the same moment can both
read the same lock and issue the *same* ticket number; both then process the conversation at
once, and the tracker store keeps only one of the two turns. The cluster fault test
"concurrent messages on both replicas" lost a message this way on a loaded CI run. A replica
finishing can likewise delete the lock right after another one queued a ticket on it.

``AtomicRedisLockStore`` runs every read-change-write of a conversation's lock (issuing a ticket,
dropping expired ones, finishing and deleting) under a short Redis mutex for that conversation
(redis-py's ``Lock``: SET NX with an expiry, so a crashed replica cannot hold it for long).
Configure it in ``endpoints.prod.yml`` with ``type: bot.lock_store.AtomicRedisLockStore`` and
the same keys as Rasa's ``redis`` lock store.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore

#: Seconds a mutex may be held (a crashed holder frees it after this) and waited for.
MUTEX_SECONDS = 10


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[Any] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # loaded by module path from the endpoints file
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _mutex(self, conversation_id: str) -> Any:
        return self.red.lock(f"{self.key_prefix}{conversation_id}:mutex", timeout=MUTEX_SECONDS,
                             blocking_timeout=MUTEX_SECONDS)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
