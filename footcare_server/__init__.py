"""Runs inside the Rasa server: how it stores conversations, treats faults and spends its time.

- `footcare_server.stores.StrictSQLTrackerStore` is the tracker store both
  endpoints profiles name (SQLite by default, PostgreSQL in production). When
  the database cannot be reached, a request fails with 503 instead of Rasa's
  silent fallback to an in-memory store that would lose the conversation.
- `footcare_server.action_timeout` bounds how long Rasa waits for the action
  server (ACTION_SERVER_TIMEOUT seconds, default 10, instead of Rasa's fixed
  5 minutes), so a slow action server ends in the never-silent fallback reply
  rather than a user left waiting.
- `footcare_server.action_fallback` makes that reply (an apology, the clinic's
  contact, the doctor recommendation) the failed action's answer, so Rasa
  sends it and stores it in the conversation like any other reply;
  channels/guard.py stays as the last line of defence for a turn without
  any reply.
- `footcare_server.speedups` stops work Rasa repeats on every turn with the
  same result: the action response check uses a validator built once, the
  model's graph runs in an order worked out once (instead of a new dask graph
  per run), event classes are looked up once per type name, and the objects
  alive once the model is loaded are frozen out of the garbage collector's
  full collections.
- `footcare_server.locks.AtomicRedisLockStore` is the production profile's
  lock store: Rasa's Redis lock store with each change of a lock made in one
  atomic script inside Redis.

Rasa imports this package when it builds the tracker store named in the
endpoints file (and channels/guard.py imports it too); the changes above are
applied at that moment.
"""
from footcare_server import action_fallback, action_timeout, speedups

action_timeout.apply()
action_fallback.apply()
speedups.apply()
