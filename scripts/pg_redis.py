"""A throw-away PostgreSQL and Redis on loopback, to try the production profile on one machine.

    .venv/bin/python scripts/pg_redis.py

starts both from Debian's packages (postgresql, redis-server) on free ports,
prints the variables that point endpoints.production.yml at them, and stops
them (deleting their data) on Ctrl-C. In another terminal:

    export FOOTCARE_ENDPOINTS=endpoints.production.yml <the printed variables>
    SANIC_WORKERS=2 make run
"""

from __future__ import annotations

import signal
import sys
import threading

from footcare_testing.datastores import MissingServer, PostgreSQL, Redis


def main() -> int:
    stop = threading.Event()  # Ctrl-C, also during start-up: stop and clean up whatever started
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    try:
        pg = PostgreSQL(durable=True).start()
    except MissingServer as error:
        print(error, file=sys.stderr)
        return 2
    try:
        redis = Redis().start()
    except MissingServer as error:
        pg.remove()
        print(error, file=sys.stderr)
        return 2
    try:
        print(f"PostgreSQL on 127.0.0.1:{pg.port} (data in {pg.root}), Redis on 127.0.0.1:{redis.port}.")
        print("Export these, then `make run` (Ctrl-C here stops both and deletes their data):\n")
        print(
            f"export FOOTCARE_ENDPOINTS=endpoints.production.yml DB_HOST=127.0.0.1 DB_PORT={pg.port} "
            f"DB_NAME={pg.DATABASE} DB_USER={pg.USER} DB_PASSWORD= REDIS_HOST=127.0.0.1 REDIS_PORT={redis.port}",
            flush=True,
        )
        stop.wait()
    finally:
        redis.remove()
        pg.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main())
