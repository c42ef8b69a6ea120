"""The conversations in the tracker store, read through Rasa's own SQL schema.

The store is the one the Rasa server uses: the `tracker_store` section of an
endpoints file (environment variables like ${DB_PASSWORD} are filled in the
way Rasa fills them). Both SQLite (the default) and PostgreSQL work; the table
is Rasa's `events` (sender_id, type_name, timestamp, intent_name, action_name,
data JSON), one row per event, in order of `id`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The endpoints profile in use, as scripts/common.sh picks it: FOOTCARE_ENDPOINTS, else endpoints.yml.
DEFAULT_ENDPOINTS = PROJECT_ROOT / os.environ.get("FOOTCARE_ENDPOINTS", "endpoints.yml")
SQLITE_TIMEOUT_S = 30
# The action Rasa logs first in every session (a new one starts after the idle time in domain.yml).
SESSION_START = "action_session_start"


class StoreError(RuntimeError):
    """The endpoints file names no tracker store these tools can read."""


def _events_table() -> sa.Table:
    from rasa.core.tracker_store import SQLTrackerStore

    return SQLTrackerStore.SQLEvent.__table__


def _store_config(endpoints: Path | str):
    from rasa.utils.endpoints import read_endpoint_config

    path = Path(endpoints)
    if not path.is_file():
        raise StoreError(f"{path}: endpoints file not found")
    config = read_endpoint_config(str(path), "tracker_store")
    if config is None or not config.type:
        raise StoreError(
            f"{path}: no tracker_store section, so the Rasa server keeps conversations in memory only "
            "(lost on restart); there is nothing stored to read or delete"
        )
    if config.type.lower() != "sql" and not config.type.endswith("SQLTrackerStore"):
        raise StoreError(
            f"{path}: tracker_store type {config.type!r} is not supported; use type: SQL (SQLite or PostgreSQL)"
        )
    return config


def database_url(endpoints: Path | str = DEFAULT_ENDPOINTS, root: Path = PROJECT_ROOT) -> sa.engine.URL:
    """The SQLAlchemy URL of the tracker store, as Rasa's SQLTrackerStore builds it.

    A relative SQLite file is taken relative to the project folder, where
    `make run` and `make shell` start the Rasa server.
    """
    from rasa.core.tracker_store import SQLTrackerStore, validate_port

    config = _store_config(endpoints)
    kwargs: dict[str, Any] = dict(config.kwargs)
    dialect = str(kwargs.pop("dialect", "sqlite"))
    db = str(kwargs.pop("db", "rasa.db"))
    if dialect.startswith("sqlite") and db != ":memory:" and not Path(db).is_absolute() and not config.url:
        db = str(root / db)
    url = SQLTrackerStore.get_db_url(
        dialect,
        config.url,
        validate_port(kwargs.get("port") or None),
        db,
        kwargs.get("username"),
        kwargs.get("password"),
        None,  # login_db only creates the database; the events live in `db`
        kwargs.get("query"),
    )
    return sa.engine.make_url(url) if isinstance(url, str) else url


def connect(endpoints: Path | str = DEFAULT_ENDPOINTS, root: Path = PROJECT_ROOT) -> "Store":
    from rasa.core.tracker_store import create_engine_kwargs

    url = database_url(endpoints, root)
    kwargs = create_engine_kwargs(url)
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_TIMEOUT_S}
    return Store(sa.create_engine(url, future=True, **kwargs))


@dataclass(frozen=True)
class Event:
    id: int
    sender_id: str
    type_name: str
    timestamp: float
    data: dict[str, Any]

    @property
    def name(self) -> Optional[str]:
        return self.data.get("name")


class Store:
    """The `events` table of a Rasa SQL tracker store."""

    def __init__(self, engine: sa.engine.Engine) -> None:
        self.engine = engine
        self.events = _events_table()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def describe(self) -> str:
        """Where the conversations are, without the password."""
        url = self.engine.url
        if self.dialect == "sqlite":
            return f"SQLite file {url.database}"
        return f"{self.dialect} database {url.database!r} on {url.host or 'localhost'}"

    def exists(self) -> bool:
        if self.dialect == "sqlite" and self.engine.url.database not in (None, "", ":memory:"):
            if not Path(self.engine.url.database).exists():
                return False
        return sa.inspect(self.engine).has_table(self.events.name)

    def iter_events(self, since: Optional[float] = None, senders: Optional[list[str]] = None) -> Iterator[Event]:
        """Every event, grouped by conversation and in the order Rasa stored them."""
        if not self.exists():
            return
        table = self.events
        query = sa.select(table.c.id, table.c.sender_id, table.c.type_name, table.c.timestamp, table.c.data)
        if senders is not None:
            query = query.where(table.c.sender_id.in_(senders))
        if since is not None:
            recent = sa.select(table.c.sender_id).where(table.c.timestamp >= since).distinct()
            query = query.where(table.c.sender_id.in_(recent))
        query = query.order_by(table.c.sender_id, table.c.id)
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query):
                try:
                    data = json.loads(row.data or "{}")
                except ValueError:
                    data = {}
                yield Event(row.id, row.sender_id, row.type_name, row.timestamp or 0.0, data)

    def sender_ids(self) -> list[str]:
        if not self.exists():
            return []
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(self.events.c.sender_id).distinct()).scalars())

    def count(self, sender_id: Optional[str] = None) -> int:
        if not self.exists():
            return 0
        query = sa.select(sa.func.count()).select_from(self.events)
        if sender_id is not None:
            query = query.where(self.events.c.sender_id == sender_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def reclaim_space(self, full: bool = False) -> list[str]:
        """Compacts the database after a deletion; returns what it could not do.

        SQLite: VACUUM rewrites the file without the freed pages; in write-ahead-log mode
        (footcare_server.stores) a checkpoint then empties the -wal file, which may still
        hold copies of the deleted pages. A reader that is in the middle of a read keeps the
        checkpoint from finishing: that is reported, and the next purge or erase empties it.

        PostgreSQL: VACUUM marks the space of the deleted rows as free for new rows; it does not
        overwrite it, so the deleted text stays in the table's files until new rows reuse that
        space, and also in PostgreSQL's write-ahead log, its archive, replicas and backups.
        `full` runs VACUUM FULL instead, which writes the table into new files and removes the
        old ones, but locks the table meanwhile (the Rasa server waits or answers 503).
        """
        problems: list[str] = []
        if self.dialect == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("VACUUM")
                busy, log_pages, moved = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
            if busy or log_pages != moved:
                problems.append(
                    "SQLite's write-ahead log could not be emptied (a reader was busy): deleted text may stay in "
                    f"{Path(self.engine.url.database).name}-wal until the next checkpoint; run this again later"
                )
        elif self.dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM {'FULL ' if full else ''}{self.events.name}")
        return problems
