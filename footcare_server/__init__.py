"""Runs inside the Rasa server: how it stores conversations, treats faults and spends its time.

Importing this package (or any module in it) changes nothing in Rasa. The
stores are Rasa's own doors (classes named in the endpoints files). Every other
change to Rasa is declared by its module (`changes()`) and made by one call,
`footcare_server.runtime.install()`, which first checks that the installed Rasa
is the 3.6 line these changes are written against (`uninstall()` puts Rasa
back). `python -m footcare_server <rasa arguments>` is Rasa's own command line
after that call; the Makefile, scripts/run.sh, scripts/shell.sh, the test
servers and the benchmark start Rasa that way. A plain `rasa run` runs without
the changes (docs/architecture.md says what that means).

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
  same result (see that module for what is kept and why).
- `footcare_server.console` makes `rasa shell` print a reply with buttons
  whole, wrapped to the terminal.
- `footcare_server.locks.AtomicRedisLockStore` is the production profile's
  lock store: Rasa's Redis lock store with each change of a lock made in one
  atomic script inside Redis.
"""
