"""endpoints.yml keeps conversations in a SQLite file: a restart loses nothing.

Talk to the Rasa server, stop it, start a new one on the same file and go on:
the whole conversation (messages, replies and slots) is still there, and the
assistant continues it: a "yes" after the restart gets the topic the assistant
offered before it.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from footcare_content.knowledge import knowledge
from footcare_testing.servers import MODEL, ROOT, ActionServer, RasaServer

PROJECT_REST = {"channels.rest.RestInput": None}
SENDER = "persistent-visitor"


def said_and_answered(tracker: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (event["event"], event.get("text") or "") for event in tracker["events"] if event["event"] in ("user", "bot")
    ]


def test_endpoints_yml_stores_conversations_in_sqlite():
    store = yaml.safe_load((ROOT / "endpoints.yml").read_text())["tracker_store"]
    assert store["dialect"] == "sqlite" and store["db"]
    assert store["type"] == "footcare_server.stores.StrictSQLTrackerStore"  # Rasa's SQLTrackerStore, failing clearly


@pytest.mark.model
def test_a_restart_keeps_the_whole_conversation(tmp_path):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    actions = ActionServer(tmp_path).start()
    try:
        first = RasaServer(tmp_path, actions.url, credentials=PROJECT_REST)
        try:
            first.start()
            for text in ("hello", "what is fascia massage?"):
                assert first.say(SENDER, text)
            before = first.tracker(SENDER)
        finally:
            first.stop()
        assert first.process.poll() is not None

        second = RasaServer(tmp_path, actions.url, credentials=PROJECT_REST)  # same SQLite file, new process
        try:
            second.start()
            restored = second.tracker(SENDER)
            assert said_and_answered(restored) == said_and_answered(before)
            assert restored["slots"] == before["slots"]

            offered = restored["slots"].get("offered_topic")
            assert offered, "the answer before the restart offered a next topic"
            replies = second.say(SENDER, "yes")
            after = second.tracker(SENDER)
        finally:
            second.stop()
    finally:
        actions.stop()

    history = said_and_answered(after)
    assert [text for kind, text in history if kind == "user"] == ["hello", "what is fascia massage?", "yes"]
    assert knowledge().answer(offered) in "\n\n".join(reply.get("text", "") for reply in replies)
    assert history[: len(said_and_answered(before))] == said_and_answered(before)
    assert history[-1][0] == "bot"
    assert (tmp_path / "conversations.db").stat().st_size > 0


def test_the_strict_store_writes_and_reads_exactly_what_rasas_sql_store_does(tmp_path):
    """footcare_server.stores runs Rasa's queries as prepared SQLAlchemy Core statements: same rows, same trackers."""
    import asyncio
    import sqlite3

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from footcare_server.stores import StrictSQLTrackerStore

    domain = Domain.load(str(ROOT / "domain.yml"))
    start = 1_700_000_000.0

    def session(at: float, number: int) -> list:
        return [
            ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at + 0.1),
            ActionExecuted("action_listen", timestamp=at + 0.2),
            UserUttered(f"hello {number}", {"name": "greet", "confidence": 0.9}, timestamp=at + 1),
            ActionExecuted("action_greet", timestamp=at + 1.1),
            BotUttered(f"hi {number}", timestamp=at + 1.2),
            SlotSet("topic", "procedure", timestamp=at + 1.3),
            ActionExecuted("action_listen", timestamp=at + 1.4),
        ]

    # Two sessions (the second starts 2 hours later), saved in several steps as Rasa's processor
    # does: read the latest session, add the turn's events, save.
    events = session(start, 1) + session(start + 7200, 2)
    save_after = (3, 8, 11, 16)

    async def write_and_read(store) -> tuple:
        done = 0
        for upto in save_after:
            tracker = await store.retrieve("visitor") or DialogueStateTracker("visitor", domain.slots)
            for event in events[done:upto]:
                tracker.update(event)
            await store.save(tracker)
            await store.save(await store.retrieve("visitor"))  # saving what is stored adds nothing
            done = upto
        return await store.retrieve("visitor"), await store.retrieve_full_tracker("visitor")

    rasa_db, ours_db = tmp_path / "rasa.db", tmp_path / "ours.db"
    rasa_store = SQLTrackerStore(domain, dialect="sqlite", db=str(rasa_db))
    ours = StrictSQLTrackerStore(domain, dialect="sqlite", db=str(ours_db))
    rasa_latest, rasa_full = asyncio.run(write_and_read(rasa_store))
    ours_latest, ours_full = asyncio.run(write_and_read(ours))

    def rows(path):
        with sqlite3.connect(path) as connection:
            return connection.execute(
                "SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id"
            ).fetchall()

    assert rows(ours_db) == rows(rasa_db) and len(rows(ours_db)) == len(events)
    # The latest session: from its session_started event on (Rasa's rule, kept).
    assert ours_latest.events == rasa_latest.events and list(ours_latest.events) == events[9:]
    assert ours_full.events == rasa_full.events and list(ours_full.events) == events
    # Each reads what the other wrote.
    assert asyncio.run(rasa_store.retrieve("visitor")).events == asyncio.run(ours.retrieve("visitor")).events
    other = SQLTrackerStore(domain, dialect="sqlite", db=str(ours_db))
    assert asyncio.run(other.retrieve_full_tracker("visitor")).events == ours_full.events
    assert asyncio.run(ours.retrieve("nobody")) is None


def test_a_save_after_a_read_counts_the_stored_events_from_that_read(tmp_path):
    """Rasa's turn reads, handles and saves one tracker: its save runs only the INSERT; others ask the database."""
    import asyncio

    import sqlalchemy as sa
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from footcare_server.stores import StrictSQLTrackerStore

    domain = Domain.load(str(ROOT / "domain.yml"))
    store = StrictSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    statements: list[str] = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *rest: statements.append(statement.split()[0].upper()),
    )

    def turn(tracker: DialogueStateTracker, text: str) -> DialogueStateTracker:
        tracker.update(UserUttered(text))
        tracker.update(ActionExecuted("action_listen"))
        return tracker

    async def scenario() -> None:
        await store.save(turn(DialogueStateTracker("visitor", domain.slots), "first"))
        assert statements == ["SELECT", "INSERT"]  # a tracker not read from the store: count, then insert

        statements.clear()
        tracker = await store.retrieve("visitor")
        await store.save(turn(tracker, "second"))
        assert statements == ["SELECT", "INSERT"]  # the read, then only the insert

        statements.clear()
        await store.save(turn(tracker, "third"))  # the same tracker saved again knows what it saved
        assert statements == ["INSERT"]

        # Someone else's tracker for the conversation, saved in between (Rasa's tracker replacement):
        # the count comes from the database again.
        statements.clear()
        await store.save(
            turn(DialogueStateTracker.from_events("visitor", list(tracker.events), domain.slots), "fourth")
        )
        assert statements == ["SELECT", "INSERT"]

    asyncio.run(scenario())
    texts = [event.text for event in asyncio.run(store.retrieve("visitor")).events if isinstance(event, UserUttered)]
    assert texts == ["first", "second", "third", "fourth"]


def test_the_sqlite_files_are_readable_by_their_owner_only(tmp_path):
    import asyncio
    import os
    import stat

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from footcare_server.stores import StrictSQLTrackerStore

    domain = Domain.load(str(ROOT / "domain.yml"))
    old_umask = os.umask(0o022)  # a usual umask: files readable by everybody unless made otherwise
    try:
        store = StrictSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "conversations.db"))
        tracker = DialogueStateTracker("visitor", domain.slots)
        tracker.update(UserUttered("my heel hurts"))
        connection = store.engine.connect()  # an open connection keeps -wal and -shm in place
        asyncio.run(store.save(tracker))
        files = {path.name: stat.S_IMODE(path.stat().st_mode) for path in tmp_path.glob("conversations.db*")}
        connection.close()
    finally:
        os.umask(old_umask)
    assert set(files) == {"conversations.db", "conversations.db-wal", "conversations.db-shm"}
    assert all(mode == 0o600 for mode in files.values()), files


def test_a_sqlite_write_waits_for_another_writer_only_a_short_while(tmp_path, monkeypatch):
    from rasa.shared.core.domain import Domain

    from footcare_server.stores import StrictSQLTrackerStore

    monkeypatch.setenv("DB_BUSY_TIMEOUT", "1.5")
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="sqlite", db=str(tmp_path / "c.db"))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1500
    monkeypatch.delenv("DB_BUSY_TIMEOUT")
    store = StrictSQLTrackerStore(Domain.load(str(ROOT / "domain.yml")), dialect="sqlite", db=str(tmp_path / "d.db"))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2000  # Python's own default is 5 s


def test_a_session_is_capped_and_goes_on_in_a_new_one_with_its_slots(tmp_path, monkeypatch):
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from footcare_server.stores import StrictSQLTrackerStore

    monkeypatch.setenv("MAX_SESSION_EVENTS", "40")
    domain = Domain.load(str(ROOT / "domain.yml"))
    store = StrictSQLTrackerStore(domain, dialect="sqlite", db=str(tmp_path / "conversations.db"))
    tracker = DialogueStateTracker("visitor", domain.slots)
    tracker.update(SlotSet("condition", "heel_spur"))
    for i in range(30):
        tracker.update(UserUttered(f"message {i}"))
        tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))

    read = asyncio.run(store.retrieve("visitor"))
    assert len(read.events) < 40 and any(isinstance(e, SessionStarted) for e in read.events)
    assert read.get_slot("condition") == "heel_spur"
    read.update(UserUttered("after the cap"))
    asyncio.run(store.save(read))
    again = asyncio.run(store.retrieve("visitor"))
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["after the cap"]
    everything = asyncio.run(store.retrieve_full_tracker("visitor"))
    assert len([e for e in everything.events if isinstance(e, UserUttered)]) == 31  # nothing was deleted
