"""Rasa's Redis lock store, with each change of a lock made atomically.

Rasa serialises the messages of one conversation with a ticket lock: each
message takes the next ticket and waits until it is served. `RedisLockStore`
keeps that lock as one JSON value and changes it by reading it, changing it in
Python and writing it back. Two replicas that get messages of the same
conversation at the same moment both read the same lock, both write it back
with "their" ticket and both think they are served: the two turns then run at
once, and the SQL tracker store (which appends the events it has not stored
yet, counted by number) drops one of the user's messages. With Rasa's store,
tests/test_replicas.py's two-messages-at-once test lost a message in most runs.

`AtomicRedisLockStore` is `RedisLockStore` (same settings, same keys, same
ticket lock) whose changes to a lock - issuing a ticket, removing expired
tickets, finishing a ticket and deleting the lock - each run in one Redis
transaction (WATCH/MULTI/EXEC, retried when another process changed the lock
in between). Lock keys also expire a minute after their last ticket, so a
crashed replica leaves nothing behind.

When Redis cannot be reached, a message is answered with 503
(`LockStoreUnavailable`) before Rasa reads or changes its conversation; if
Redis goes away while a message is being handled, the turn is kept and its
ticket simply expires.

Endpoints files name it with `type: footcare_server.locks.AtomicRedisLockStore`.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, Optional, Text, Tuple, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from footcare_server.stores import QuietServiceUnavailable

logger = logging.getLogger(__name__)

Result = TypeVar("Result")
KEY_GRACE_S = 60


class LockStoreUnavailable(QuietServiceUnavailable):
    """Redis failed; the message is answered with 503 and nothing was changed."""

    message = (
        "The conversation lock store cannot be reached, so this message was not handled. "
        "Please send it again in a moment."
    )


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose lock changes are Redis transactions."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # Rasa builds lock stores named by module path with the endpoint config only.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def _change(
        self, conversation_id: Text, change: Callable[[Optional[TicketLock]], Tuple[Optional[TicketLock], Result]]
    ) -> Result:
        """Applies `change` to the stored lock in one transaction; a lock without tickets is deleted."""
        import redis

        key = self.key_prefix + conversation_id
        with self.red.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    lock = TicketLock.from_dict(json.loads(raw)) if raw else None
                    lock, result = change(lock)
                    pipe.multi()
                    if lock is None or not lock.tickets:
                        pipe.delete(key)
                    else:
                        expires = max(ticket.expires for ticket in lock.tickets)
                        pipe.set(key, lock.dumps(), ex=max(1, int(expires - time.time()) + KEY_GRACE_S))
                    pipe.execute()
                    return result
                except redis.WatchError:
                    continue  # someone changed the lock meanwhile: read it again

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: Optional[TicketLock]) -> Tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        return self._reachable(lambda: self._change(conversation_id, issue))

    def update_lock(self, conversation_id: Text) -> None:
        def drop_expired(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock:
                lock.remove_expired_tickets()
            return lock, None

        self._reachable(lambda: self._change(conversation_id, drop_expired))

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self._reachable(lambda: super(AtomicRedisLockStore, self).get_lock(conversation_id))

    @staticmethod
    def _reachable(call: Callable[[], Result]) -> Result:
        import redis

        try:
            return call()
        except redis.exceptions.RedisError as error:
            logger.error("The lock store failed (%s); the message gets 503 and was not handled.",
                         type(error).__name__)
            raise LockStoreUnavailable() from None

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def finish(lock: Optional[TicketLock]) -> Tuple[Optional[TicketLock], None]:
            if lock:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Finishing the ticket and deleting the lock when nobody waits is one change here.
        # The turn is done and stored: a failure now must not turn it into an error.
        import redis

        try:
            self.finish_serving(conversation_id, ticket_number)
        except redis.exceptions.RedisError as error:
            logger.warning("Could not release a conversation lock (%s); its ticket expires by itself.",
                           type(error).__name__)
