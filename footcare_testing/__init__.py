"""The project's real servers on loopback, for the test suites, the benchmark and a local try-out.

- `servers`: the action server, the Rasa server (through footcare_server, as `make run` starts
  it), the demo page, and one input channel in-process against a stand-in for Rasa (`ChannelApp`)
- `datastores`: PostgreSQL and Redis from Debian's packages, each on a free port with a
  throw-away data folder
- `fake_telegram`: a fake Telegram Bot API that records what the assistant sends

Used by tests/, bench/ (`make bench`) and scripts/pg_redis.py. Nothing here is part of the
running assistant.
"""
