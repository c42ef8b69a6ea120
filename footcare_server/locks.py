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
ticket lock, same JSON value) whose changes to a lock - issuing a ticket,
removing expired tickets, finishing a ticket and deleting the lock - each run
as one Lua script inside Redis (`CHANGE_LOCK`), which Redis runs atomically:
one round trip per change where a read, a change in Python and a checked
write-back would take three. The script does what Rasa's `TicketLock` does
(expired tickets go first; the next ticket is the last one's number + 1, or
0), with the clock of the Rasa process passed in, as Rasa's own checks use
it. Lock keys also expire a minute after their last ticket, so a crashed
replica leaves nothing behind.

Every Redis call gives up after REDIS_TIMEOUT seconds (default 1; connecting
too), where Rasa's store waits 10 seconds for an answer and has no limit for
connecting: a stalled Redis would otherwise hold every channel.

When Redis cannot be reached, a message is answered with 503
(`LockStoreUnavailable`) before Rasa reads or changes its conversation; if
Redis goes away while a message is being handled, the turn is kept and its
ticket simply expires.

Endpoints files name it with `type: footcare_server.locks.AtomicRedisLockStore`.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, Callable, Optional, Text, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from footcare_server.stores import QuietServiceUnavailable

logger = logging.getLogger(__name__)

Result = TypeVar("Result")
KEY_GRACE_S = 60
DEFAULT_REDIS_TIMEOUT_S = 1.0

# One change of a conversation's lock, run atomically by Redis. The value is Rasa's
# TicketLock JSON: {"conversation_id": ..., "tickets": ["{\"number\": 0, \"expires\": ...}", ...]}.
# KEYS[1] the lock's key; ARGV: now (the Rasa process's clock), operation ("issue", "finish"
# or "prune"), its argument (a lifetime in seconds, a ticket number, unused), the conversation
# id, how long the key outlives its last ticket. Returns the issued ticket's number, else 0.
CHANGE_LOCK = """
local now, operation, argument = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local raw, tickets = redis.call('GET', KEYS[1]), {}
if raw then
  for _, serialised in ipairs(cjson.decode(raw).tickets or {}) do
    local ticket = cjson.decode(serialised)
    if ticket.expires >= now then table.insert(tickets, ticket) end
  end
end
local result = 0
if operation == 'issue' then
  if #tickets > 0 then result = tickets[#tickets].number + 1 end
  table.insert(tickets, {number = result, expires = now + argument})
elseif operation == 'finish' then
  for i, ticket in ipairs(tickets) do
    if ticket.number == argument then table.remove(tickets, i) break end
  end
end
if #tickets == 0 then
  redis.call('DEL', KEYS[1])
  return result
end
local serialised, last_expiry = {}, 0
for i, ticket in ipairs(tickets) do
  serialised[i] = cjson.encode(ticket)
  last_expiry = math.max(last_expiry, ticket.expires)
end
local lock = cjson.encode({conversation_id = ARGV[4], tickets = serialised})
redis.call('SET', KEYS[1], lock, 'EX', math.max(1, math.ceil(last_expiry - now) + tonumber(ARGV[5])))
return result
"""


class LockStoreUnavailable(QuietServiceUnavailable):
    """Redis failed; the message is answered with 503 and nothing was changed."""

    message = (
        "The conversation lock store cannot be reached, so this message was not handled. "
        "Please send it again in a moment."
    )


class AtomicRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose lock changes are atomic scripts in Redis."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # Rasa builds lock stores named by module path with the endpoint config only.
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        timeout = float(os.environ.get("REDIS_TIMEOUT") or DEFAULT_REDIS_TIMEOUT_S)
        kwargs.setdefault("socket_timeout", timeout)
        super().__init__(**kwargs)
        self.red.connection_pool.connection_kwargs["socket_connect_timeout"] = timeout
        self._change_lock = self.red.register_script(CHANGE_LOCK)

    def _change(self, conversation_id: Text, operation: Text, argument: float = 0) -> int:
        """Runs one change of the stored lock in Redis; returns the issued ticket's number for "issue"."""
        key = self.key_prefix + conversation_id
        arguments = [repr(time.time()), operation, repr(argument), conversation_id, KEY_GRACE_S]
        return int(self._change_lock(keys=[key], args=arguments))

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._reachable(lambda: self._change(conversation_id, "issue", lock_lifetime))

    def update_lock(self, conversation_id: Text) -> None:
        self._reachable(lambda: self._change(conversation_id, "prune"))

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self._reachable(lambda: super(AtomicRedisLockStore, self).get_lock(conversation_id))

    @staticmethod
    def _reachable(call: Callable[[], Result]) -> Result:
        import redis

        try:
            return call()
        except redis.exceptions.RedisError as error:
            logger.error("The lock store failed (%s); the message gets 503 and was not handled.", type(error).__name__)
            raise LockStoreUnavailable() from None

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        self._change(conversation_id, "finish", ticket_number)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        # Finishing the ticket and deleting the lock when nobody waits is one change here.
        # The turn is done and stored: a failure now must not turn it into an error.
        import redis

        try:
            self.finish_serving(conversation_id, ticket_number)
        except redis.exceptions.RedisError as error:
            logger.warning(
                "Could not release a conversation lock (%s); its ticket expires by itself.", type(error).__name__
            )
