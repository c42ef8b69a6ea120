"""Faults: the action server down or slow, the conversation store unreachable.

- Action server down or slower than ACTION_SERVER_TIMEOUT: the user still gets
  the apology with the doctor recommendation and the clinic's contact
  (footcare_server/action_fallback.py, channels/guard.py), the turn and that
  reply are stored, and the bot answers normally again once the action server
  is back.
- PostgreSQL down, or Redis (the lock store) down: the REST request fails with
  503 and a clear message, nothing is kept in memory, and the conversation
  continues with its whole history once the server is back. A restart of
  PostgreSQL between two messages costs no failed request: the store runs a
  read or save again on a new connection when its pooled one was dropped.
- A stalled Redis (accepts, never answers) or a stalled PostgreSQL statement
  ends within the store timeouts (REDIS_TIMEOUT, DB_STATEMENT_TIMEOUT) instead
  of holding every channel.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import urllib.error
from pathlib import Path
from typing import Any, Optional

import pytest

from footcare_content.apology import unavailable_text
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge
from footcare_testing.datastores import PostgreSQL, Redis, production_endpoints, start_or_explain
from footcare_testing.servers import MODEL, ActionServer, RasaServer, free_port

pytestmark = pytest.mark.model

PROJECT_REST = {"channels.rest.RestInput": None}
ACTION_TIMEOUT_S = 5


class StallingActionServer:
    """Takes the action server's port, accepts every request and never answers."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections: list[socket.socket] = []
        self.listener: Optional[socket.socket] = None

    def start(self) -> "StallingActionServer":
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def stop(self) -> None:
        if self.listener:
            self.listener.close()
        for connection in self.connections:
            connection.close()


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n\n".join(reply.get("text", "") for reply in replies)


def is_fallback(replies: list[dict[str, Any]]) -> bool:
    return texts(replies) == unavailable_text()


def stored_turns(database: Path, sender: str) -> list[tuple[str, list[str]]]:
    """(user text, bot texts that followed it) for each stored user message of a REST sender, in order."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? AND type_name IN ('user', 'bot') ORDER BY id",
            (f"rest:{sender}",),
        ).fetchall()
    turns: list[tuple[str, list[str]]] = []
    for type_name, data in rows:
        text = json.loads(data).get("text") or ""
        if type_name == "user":
            turns.append((text, []))
        elif turns:
            turns[-1][1].append(text)
    return turns


def stored_user_texts(database: Path, sender: str) -> list[str]:
    return [text for text, _ in stored_turns(database, sender)]


def recover(rasa: RasaServer, sender: str, said: list[str], text: str, attempts: int = 3) -> tuple[list[str], list]:
    """Says `text` until a normal answer comes back (the action server's first call loads its
    language pipeline, which on a busy machine can outlast the timeout); never silence meanwhile."""
    for _ in range(attempts):
        said = [*said, text]
        replies = rasa.say(sender, text)
        assert replies, "a turn without any reply"
        if not is_fallback(replies):
            return said, replies
    raise AssertionError(f"still the fallback reply after {attempts} messages with the action server back")


@pytest.fixture(scope="module")
def rasa_without_actions(tmp_path_factory):
    """A Rasa server (endpoints.yml's SQLite store) whose action server port starts out empty."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    workdir = tmp_path_factory.mktemp("faults")
    action_port = free_port()
    rasa = RasaServer(
        workdir,
        f"http://127.0.0.1:{action_port}",
        credentials=PROJECT_REST,
        env={"ACTION_SERVER_TIMEOUT": str(ACTION_TIMEOUT_S)},
    )
    try:
        rasa.start()
        yield rasa, action_port, workdir
    finally:
        rasa.stop()


def test_the_fallback_reply_names_the_doctor_and_the_clinic():
    text = unavailable_text()
    assert knowledge().doctor_recommendation in text
    assert clinic().phone in text and clinic().email in text


def test_action_server_down_gets_the_fallback_reply_and_the_bot_recovers(rasa_without_actions):
    rasa, action_port, workdir = rasa_without_actions
    sender = "fault-down"
    said = ["hello", "my left heel aches every morning, what is fascia massage?"]
    for text in said:
        replies = rasa.say(sender, text)
        assert is_fallback(replies), replies

    actions = ActionServer(workdir, port=action_port).start()
    try:
        said, replies = recover(rasa, sender, said, "how should I prepare for a session?")
    finally:
        actions.stop()
    assert knowledge().doctor_recommendation in texts(replies)
    # Nothing the user said during the outage was lost, and what they were told is in the conversation.
    turns = stored_turns(workdir / "conversations.db", sender)
    assert [text for text, _ in turns] == said
    assert [bot for _, bot in turns[:2]] == [[unavailable_text()], [unavailable_text()]]
    assert turns[-1][1] and unavailable_text() not in turns[-1][1]


def test_slow_action_server_gets_the_fallback_reply_and_the_bot_recovers(rasa_without_actions):
    rasa, action_port, workdir = rasa_without_actions
    sender = "fault-slow"
    stalling = StallingActionServer(action_port).start()
    try:
        # Rasa gives up after ACTION_SERVER_TIMEOUT (5 s here), well before this client's 60 s.
        replies = rasa.say(sender, "what side effects can fascia massage have?", timeout=60)
    finally:
        stalling.stop()
    assert is_fallback(replies), replies

    actions = ActionServer(workdir, port=action_port).start()
    try:
        said, _ = recover(
            rasa, sender, ["what side effects can fascia massage have?"], "what side effects can fascia massage have?"
        )
    finally:
        actions.stop()
    assert stored_user_texts(workdir / "conversations.db", sender) == said


def test_action_faults_do_not_put_message_text_in_the_log(rasa_without_actions):
    rasa, _, _ = rasa_without_actions  # no action server on its port (the other tests stop theirs)
    assert is_fallback(rasa.say("fault-log", "my left heel aches every morning, what is fascia massage?"))
    log = rasa.log.read_text(errors="replace")
    assert "footcare_server.action_fallback" in log  # the fault was logged...
    assert "heel aches every morning" not in log  # ...without what the user wrote


def refused(rasa: RasaServer, sender: str, text: str) -> dict[str, Any]:
    """The REST answer to a message that must be refused with 503; returns its JSON body."""
    with pytest.raises(urllib.error.HTTPError) as error:
        rasa.say(sender, text)
    assert error.value.code == 503
    return json.loads(error.value.read())


def test_unreachable_database_or_lock_store_answers_503_and_loses_nothing(tmp_path):
    """endpoints.production.yml's stores: PostgreSQL stopped, then Redis stopped, each started again."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    pg = start_or_explain(PostgreSQL)
    redis = start_or_explain(Redis)
    tracker_store, lock_store, env = production_endpoints(pg, redis)
    actions = ActionServer(tmp_path)
    rasa = RasaServer(
        tmp_path, actions.url, tracker_store=tracker_store, lock_store=lock_store, credentials=PROJECT_REST, env=env
    )
    sender = "store-fault"
    try:
        actions.start()
        rasa.start()
        assert rasa.say(sender, "hello")

        pg.stop()
        assert (
            "conversation store cannot be reached"
            in refused(rasa, sender, "my left heel aches every morning")["message"]
        )
        pg.start()
        replies = rasa.say(sender, "what is fascia massage?")
        assert replies and not is_fallback(replies), replies

        redis.stop()
        assert "lock store cannot be reached" in refused(rasa, sender, "my heel aches again this morning")["message"]
        redis.start()
        replies = rasa.say(sender, "how should I prepare for a session?")
        assert replies and not is_fallback(replies), replies

        stored = [
            json.loads(data)["text"]
            for (data,) in pg.query(
                "SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' ORDER BY id", f"rest:{sender}"
            )
        ]
        # The refused messages are not stored (their sender got the 503); the rest is whole and in order.
        assert stored == ["hello", "what is fascia massage?", "how should I prepare for a session?"]
        log = rasa.log.read_text(errors="replace")
        assert "conversation store failed" in log and "lock store failed" in log
        assert "InMemoryTrackerStore" not in log, "Rasa fell back to memory"
        assert "heel aches" not in log
    finally:
        rasa.stop()
        actions.stop()
        redis.remove()
        pg.remove()


def test_a_restarted_database_is_picked_up_without_a_failed_request(caplog):
    """Pooled connections die with a PostgreSQL restart; the next read and save run again on new ones."""
    import asyncio
    import logging

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from footcare_server.stores import StrictSQLTrackerStore
    from footcare_testing.servers import ROOT

    pg = start_or_explain(PostgreSQL)
    domain = Domain.load(str(ROOT / "domain.yml"))
    try:
        store = StrictSQLTrackerStore(
            domain, dialect="postgresql", host="127.0.0.1", port=pg.port, db=pg.DATABASE, username=pg.USER
        )

        async def turn(text: str) -> DialogueStateTracker:
            tracker = await store.retrieve("visitor") or DialogueStateTracker("visitor", domain.slots)
            tracker.update(UserUttered(text))
            tracker.update(ActionExecuted("action_listen"))
            await store.save(tracker)
            return tracker

        asyncio.run(turn("before the restart"))  # leaves its connection in the pool
        pg.stop()
        pg.start()
        with caplog.at_level(logging.INFO, logger="footcare_server.stores"):
            tracker = asyncio.run(turn("after the restart"))
        assert "had been dropped" in caplog.text
        stored = asyncio.run(store.retrieve("visitor"))
        assert [event.text for event in stored.events if isinstance(event, UserUttered)] == [
            "before the restart",
            "after the restart",
        ]
        assert list(stored.events) == list(tracker.events)
    finally:
        pg.remove()


class SilentServer:
    """Accepts connections on a loopback port, reads what comes and never answers (a stalled Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.sock.close()


def test_a_stalled_redis_gives_a_503_within_about_a_second_not_a_stall():
    from footcare_server.locks import AtomicRedisLockStore, LockStoreUnavailable

    silent = SilentServer()
    try:
        store = AtomicRedisLockStore(host="127.0.0.1", port=silent.port)
        assert store.red.connection_pool.connection_kwargs["socket_timeout"] == 1.0
        outcome: list[Any] = []

        def issue() -> None:
            try:
                store.issue_ticket("visitor")
            except LockStoreUnavailable as error:
                outcome.append(error)

        caller = threading.Thread(target=issue, daemon=True)
        caller.start()
        caller.join(timeout=8)  # Rasa's own store waits 10 s for each answer
        assert not caller.is_alive() and len(outcome) == 1
    finally:
        silent.close()


def test_a_stalled_database_statement_ends_after_the_statement_timeout(monkeypatch):
    import sqlalchemy as sa
    from rasa.shared.core.domain import Domain

    from footcare_server.stores import StrictSQLTrackerStore
    from footcare_testing.servers import ROOT

    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "1")
    pg = start_or_explain(PostgreSQL)
    try:
        store = StrictSQLTrackerStore(
            Domain.load(str(ROOT / "domain.yml")),
            dialect="postgresql",
            host="127.0.0.1",
            port=pg.port,
            db=pg.DATABASE,
            username=pg.USER,
        )
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
            with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
                connection.exec_driver_sql("SELECT pg_sleep(30)")
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        pg.remove()
