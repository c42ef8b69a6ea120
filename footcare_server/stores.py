"""Rasa's SQL tracker store, without the silent fallback to memory.

Rasa wraps every tracker store in `FailSafeTrackerStore`. When the database
cannot be reached, that wrapper logs an error, reads an *empty* conversation
and keeps the new turn in the memory of one process: the user gets an answer
that ignores what they said before, and the turn is gone at the next restart
or on another replica. For a clinic that is silent data loss.

`StrictSQLTrackerStore` is Rasa's `SQLTrackerStore` (same settings, same
`events` table and rows, SQLite or PostgreSQL) with these differences:

- a database failure while reading or saving a conversation ends the request
  with 503 Service Unavailable (`ConversationStoreUnavailable`), and nothing is
  kept in memory; what is already stored stays as it is, and the next request
  after the database is back continues the conversation;
- PostgreSQL connections have a connect timeout (DB_CONNECT_TIMEOUT seconds,
  default 5); a read or save that finds its pooled connection dropped (the
  database was restarted) is run once more on a new connection, so a
  restarted database is picked up without a failed request and without a
  check query before every use (SQLAlchemy's `pool_pre_ping`, a round trip
  each time). Running a save again is safe: it stores only the events the
  database does not hold yet;
- on PostgreSQL every statement commits by itself (`AUTOCOMMIT`): a read is
  one statement, and a save is one INSERT of all new events (one statement,
  so it is stored whole or not at all), after a count of the stored events
  where needed (below), without the BEGIN, COMMIT and ROLLBACK round trips
  around each. The count and the insert needed no transaction before either
  (PostgreSQL's default isolation does not stop another writer between them):
  two messages of one conversation are kept apart by the lock store;
- a save after a read of the same conversation (Rasa's turn: read, handle,
  save, all under the conversation's lock) knows how many events are stored
  already from that read, and asks the database only when it does not (a
  tracker built elsewhere, or a save run again after a dropped connection);
- a SQLite file is used in write-ahead-log mode (`journal_mode=WAL`, still
  `synchronous=FULL`, so every saved turn is on disk) over pooled
  connections: one sync per save instead of several (on this machine's disk a
  commit took 8-26 ms in SQLite's default journal mode against 0.4-8 ms with
  the log, and the server is blocked meanwhile), and readers (make review,
  make purge) no longer block the server's writes.
  Rasa's default for SQLite opens a new connection for every read and write,
  and closing the last connection checkpoints the log, which would undo the
  gain;
- every call has a time limit, so a stalled database cannot hold every
  channel: PostgreSQL statements end after DB_STATEMENT_TIMEOUT seconds
  (default 5; `statement_timeout`), and TCP keepalives notice a connection
  whose server vanished; a SQLite write waits at most DB_BUSY_TIMEOUT seconds
  (default 2) for another writer such as `make purge`;
- a SQLite file and its `-wal` / `-shm` files are readable by their owner
  only (0600; SQLite gives the other two the database file's permissions);
- a session is capped at MAX_SESSION_EVENTS events (default 2000, about 250
  turns): a longer one is closed and a new session is started in the store
  with the slots carried over, as Rasa does after the idle time, so that
  reading a conversation never costs more than that;
- a missing database driver stops the server at start-up, where Rasa would
  have used an in-memory store with only a warning;
- reading and saving a conversation run Rasa's own queries as SQLAlchemy Core
  statements prepared once, instead of an ORM query and an object per event
  built on every call (3.3 ms of each turn down to 1.5 ms for the save here);
  tests/test_persistence.py checks that both write the same rows and read the
  same trackers.

Endpoints files name it with `type: footcare_server.stores.StrictSQLTrackerStore`
(Rasa's own door for a custom tracker store). Rasa 3.6 offers no door for the
fallback: `Agent` always builds `FailSafeTrackerStore(store)` without the error
callback that its constructor accepts. Its change (made by
footcare_server.runtime.install(), that is by `python -m footcare_server`)
makes `Agent` use a subclass that passes that callback for strict stores only
(`_FailClearly`); every other store keeps Rasa's behaviour. Under a plain
`rasa run` the store is the same, but Rasa's fallback to memory is back.

Nothing here logs message text: errors are reported by the driver's error
class and the first line of its message, never with the SQL parameters.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from typing import Any, Awaitable, Callable, Iterable, Iterator, Optional, Text, TypeVar

import sqlalchemy as sa
from rasa.core.constants import POSTGRESQL_SCHEMA
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sanic.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

Result = TypeVar("Result")
CONNECT_TIMEOUT_ENV = "DB_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT_S = 5
DEFAULT_STATEMENT_TIMEOUT_S = 5
DEFAULT_BUSY_TIMEOUT_S = 2
DEFAULT_MAX_SESSION_EVENTS = 2000
# The attribute in which a tracker read from the store carries how many of its events are stored.
STORED_EVENTS = "_footcare_stored_events"
# The events one INSERT statement carries on PostgreSQL (SQLAlchemy's default splits at 1,000).
INSERT_PAGE_ROWS = 100_000


class QuietServiceUnavailable(ServiceUnavailable):
    """A 503 with the class's `message`, for a store that failed (also the lock store's)."""

    message = "A store cannot be reached. Please send the message again in a moment."

    def __init__(self) -> None:
        # quiet: our own log line says what failed; Sanic's traceback would add nothing.
        super().__init__(self.message, quiet=True)


class ConversationStoreUnavailable(QuietServiceUnavailable):
    """The conversation store failed; the request is answered with 503."""

    message = (
        "The conversation store cannot be reached, so this message was not handled and "
        "nothing was saved. Please send it again in a moment."
    )


class StoreSetupError(RuntimeError):
    """The store cannot be built (for example a missing database driver)."""


def describe(error: BaseException) -> str:
    """The error's class and the first line of the driver's message, without SQL or parameters."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line[:160]}"


class StrictSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` whose failures reach the client as 503 instead of a fallback to memory."""

    def __init__(
        self,
        domain: Any = None,
        dialect: Text = "sqlite",
        host: Optional[Text] = None,
        port: Optional[int] = None,
        db: Text = "rasa.db",
        username: Optional[Text] = None,
        password: Optional[Text] = None,
        event_broker: Any = None,
        login_db: Optional[Text] = None,
        query: Optional[dict] = None,
        **kwargs: Any,
    ) -> None:
        if dialect == "sqlite" and db not in ("", ":memory:") and not host:
            private_file(db)
        try:
            super().__init__(
                domain, dialect, host, port, db, username, password, event_broker, login_db, query, **kwargs
            )
        except (ImportError, AttributeError) as error:
            # Rasa turns exactly these two into an in-memory store with a warning.
            raise StoreSetupError(f"Cannot set up the {dialect} conversation store: {error}") from error
        self._tune_connections()
        self._statements = _Statements(self.SQLEvent.__table__)
        self.max_session_events = int(_seconds("MAX_SESSION_EVENTS", DEFAULT_MAX_SESSION_EVENTS))

    def _tune_connections(self) -> None:
        url = self.engine.url
        kwargs = create_engine_kwargs(url)
        if url.get_backend_name() == "sqlite":
            if url.database in (None, "", ":memory:"):
                return
            # One pool per process; a connection is only ever used by one thread at a time.
            busy = _seconds("DB_BUSY_TIMEOUT", DEFAULT_BUSY_TIMEOUT_S)
            kwargs.update(poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False, "timeout": busy})
        if url.get_backend_name() == "postgresql":
            connect_args = kwargs.setdefault("connect_args", {})
            connect_args.setdefault("connect_timeout", int(_seconds(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_S)))
            statement_ms = int(_seconds("DB_STATEMENT_TIMEOUT", DEFAULT_STATEMENT_TIMEOUT_S) * 1000)
            connect_args.setdefault("options", f"-c statement_timeout={statement_ms}")
            connect_args.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
            # One statement per read or insert, each committed by itself (see above).
            kwargs.update(isolation_level="AUTOCOMMIT", executemany_values_page_size=INSERT_PAGE_ROWS)
        self.engine.dispose()
        self.engine = sa.create_engine(url, **kwargs)
        if url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_write_ahead_log)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.chmod(f"{url.database}{suffix}", 0o600)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    @contextlib.contextmanager
    def _reachable(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (sa.exc.SQLAlchemyError, OSError) as error:
            logger.error(
                "The conversation store failed while %s (%s); the request gets 503 and nothing is kept in memory.",
                operation,
                describe(error),
            )
            raise ConversationStoreUnavailable() from None

    async def _again_if_dropped(self, run: Callable[[], Awaitable[Result]]) -> Result:
        """`run()`, and once more if its pooled connection had been dropped (SQLAlchemy then renews the pool)."""
        try:
            return await run()
        except sa.exc.DBAPIError as error:
            if not error.connection_invalidated:
                raise
            logger.info(
                "A pooled database connection had been dropped (%s); trying again on a new one.", describe(error)
            )
            return await run()

    async def keys(self) -> Iterable[Text]:
        with self._reachable("listing conversations"):
            return await super().keys()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self._reachable("reading a conversation"):
            return await self._again_if_dropped(lambda: super(StrictSQLTrackerStore, self).retrieve(sender_id))

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        with self._reachable("reading a conversation"):
            return await self._again_if_dropped(
                lambda: super(StrictSQLTrackerStore, self).retrieve_full_tracker(conversation_id)
            )

    async def save(self, tracker: DialogueStateTracker) -> None:
        with self._reachable("saving a conversation"):
            if os.environ.get(POSTGRESQL_SCHEMA):  # Rasa's own code (see below)
                return await super().save(tracker)
            await self.stream_events(tracker)
            await self._again_if_dropped(lambda: self._save(tracker))

    # Rasa's queries, as SQLAlchemy Core statements built once. Rasa's own code builds an ORM
    # query (with the same session-start subquery) and an object per event on every call, which
    # profiling showed at about a quarter of the Rasa server's time per turn. Same table, same
    # rows, same order; with a PostgreSQL schema (POSTGRESQL_SCHEMA) Rasa's own code runs.

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        if os.environ.get(POSTGRESQL_SCHEMA):
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        statement = self._statements.all_data if fetch_events_from_all_sessions else self._statements.session_data
        with self.engine.connect() as connection:
            events = [json.loads(data) for (data,) in connection.execute(statement, {"sender_id": sender_id})]
        if self.domain and events and not fetch_events_from_all_sessions and len(events) > self.max_session_events:
            self._start_new_session(DialogueStateTracker.from_dict(sender_id, events, self.domain.slots))
            with self.engine.connect() as connection:
                events = [json.loads(data) for (data,) in connection.execute(statement, {"sender_id": sender_id})]
        if self.domain and events:
            tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
            if not fetch_events_from_all_sessions and len(tracker.events) == len(events):
                setattr(tracker, STORED_EVENTS, len(events))
            return tracker
        return None

    def _start_new_session(self, tracker: DialogueStateTracker) -> None:
        """Stores the start of a new session (Rasa's own events for it), with the slots carried over."""
        from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
        from rasa.shared.core.events import ActionExecuted, SlotSet

        logger.info("A session reached %d events; a new one was started with its slots.", self.max_session_events)
        # In this order: the session's events are read by their timestamps.
        events = [ActionExecuted(ACTION_SESSION_START_NAME), SessionStarted()]
        events += [SlotSet(name, slot.value) for name, slot in tracker.slots.items() if slot.has_been_set]
        events.append(ActionExecuted(ACTION_LISTEN_NAME))
        with self.engine.begin() as connection:
            connection.execute(self._statements.insert, [_row(tracker.sender_id, event) for event in events])

    async def _save(self, tracker: DialogueStateTracker) -> None:
        # Taken, not read: should this save fail and run again, the database is asked.
        stored = tracker.__dict__.pop(STORED_EVENTS, None)
        with self.engine.begin() as connection:
            if stored is None:
                stored = connection.execute(self._statements.session_count, {"sender_id": tracker.sender_id}).scalar()
            rows = [
                _row(tracker.sender_id, event)
                for event in itertools.islice(tracker.events, stored, len(tracker.events))
            ]
            if rows:
                connection.execute(self._statements.insert, rows)
        setattr(tracker, STORED_EVENTS, len(tracker.events))


def _row(sender_id: Text, event: Any) -> dict:
    """The `events` row of an event, as Rasa's SQLTrackerStore writes it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def private_file(path: Text) -> None:
    """Creates the SQLite file readable by its owner only (SQLite makes -wal and -shm alike)."""
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _Statements:
    """The statements of SQLTrackerStore's queries, with the sender id as a parameter."""

    def __init__(self, events: sa.Table) -> None:
        sender = sa.bindparam("sender_id")
        # The latest session starts at the newest `session_started` event (no such event: all events).
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_session = sa.and_(
            events.c.sender_id == sender,
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None)),
        )
        self.session_data = sa.select(events.c.data).where(in_session).order_by(events.c.id)
        self.all_data = sa.select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
        self.session_count = sa.select(sa.func.count()).select_from(events).where(in_session)
        self.insert = events.insert()


def _sqlite_write_ahead_log(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def refuse_memory_fallback(error: Exception) -> None:
    """`FailSafeTrackerStore`'s error callback: re-raise instead of using memory."""
    raise error


class _FailClearly(FailSafeTrackerStore):
    """Rasa's wrapper; around a `StrictSQLTrackerStore` its errors are raised, not hidden."""

    def __init__(
        self,
        tracker_store: TrackerStore,
        on_tracker_store_error: Optional[Callable[[Exception], None]] = None,
        fallback_tracker_store: Optional[TrackerStore] = None,
    ) -> None:
        if on_tracker_store_error is None and isinstance(tracker_store, StrictSQLTrackerStore):
            on_tracker_store_error = refuse_memory_fallback
        super().__init__(tracker_store, on_tracker_store_error, fallback_tracker_store)


def changes() -> list:
    """`Agent` wraps tracker stores in `_FailClearly` (made by footcare_server.runtime.install())."""
    import rasa.core.agent

    return [(rasa.core.agent, "FailSafeTrackerStore", _FailClearly)]
