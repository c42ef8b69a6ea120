"""Retention (`make purge`) and erasure (`make erase`) on real Rasa SQL tracker stores."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from actions.dialogue import shown
from tests.workbench_helpers import DAY, Conversation, save_conversations, write_store
from workbench import retention
from workbench.store import StoreError, connect, database_url

ROOT = Path(__file__).resolve().parent.parent
NOW = time.time()
PHONE = "+44 7700 900123"


def texts(store, sender=None):
    return [
        e.data.get("text") for e in store.iter_events(senders=[sender] if sender else None) if e.type_name == "user"
    ]


def script(command: str, *args: str, env=None) -> subprocess.CompletedProcess:
    """`python -m workbench <command> ...` (what make purge / make erase run)."""
    return subprocess.run(
        [sys.executable, "-m", "workbench", command, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def store_file(tmp_path):
    """Three conversations: one 40 days old, one with an old and a new session, one from yesterday."""
    conversations = [
        Conversation("old-sender", NOW - 40 * DAY).say("an old question about heels", "ask_benefits"),
        Conversation("mixed-sender", NOW - 35 * DAY)
        .say("old session words", "ask_procedure")
        .new_session(34 * DAY)
        .say("new session words", "ask_procedure"),
        Conversation("new-sender", NOW - DAY).say("a fresh question", "ask_safety"),
    ]
    return write_store(tmp_path / "conversations.db", conversations)


def test_purge_deletes_old_sessions_and_keeps_recent_ones(store_file):
    store = connect(store_file)
    deleted = retention.purge(store, days=30, now=NOW)
    assert (deleted.conversations, deleted.trimmed) == (1, 1)
    assert sorted(store.sender_ids()) == ["mixed-sender", "new-sender"]
    assert texts(store) == ["new session words", "a fresh question"]
    # What is left of a shortened conversation starts at a session start, so Rasa can rebuild it.
    first = next(store.iter_events(senders=["mixed-sender"]))
    assert first.type_name == "action" and first.name == "action_session_start"


def test_purge_is_idempotent_and_respects_the_period(store_file):
    store = connect(store_file)
    assert retention.purge(store, days=60, now=NOW).events == 0
    assert retention.purge(store, days=30, now=NOW).events > 0
    assert retention.purge(store, days=30, now=NOW).events == 0
    assert sorted(store.sender_ids()) == ["mixed-sender", "new-sender"]


def test_a_message_arriving_while_the_purge_runs_is_kept(store_file, monkeypatch):
    store = connect(store_file)
    find_old_parts = retention._old_parts

    def and_then_the_person_comes_back(*args):
        parts = find_old_parts(*args)
        with store.engine.begin() as conn:
            conn.execute(
                sa.insert(store.events).values(
                    sender_id="old-sender",
                    type_name="user",
                    timestamp=time.time(),
                    data=json.dumps({"event": "user", "text": "I am back"}),
                )
            )
        return parts

    monkeypatch.setattr(retention, "_old_parts", and_then_the_person_comes_back)
    retention.purge(store, days=30, now=NOW)
    assert texts(store, "old-sender") == ["I am back"]


def test_a_session_still_running_at_the_cutoff_is_kept_whole(tmp_path):
    # Started 31 days ago and still going (events on both sides of the cut-off): nothing is cut.
    conversation = (
        Conversation("long-sender", NOW - 31 * DAY).say("first", "greet").say("much later", "greet", after=2 * DAY)
    )
    store = connect(write_store(tmp_path / "c.db", [conversation]))
    assert retention.purge(store, days=30, now=NOW).events == 0
    assert texts(store) == ["first", "much later"]


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_purged_text_is_gone_from_the_sqlite_files(tmp_path, journal_mode):
    db = tmp_path / "conversations.db"
    if journal_mode == "wal":  # as footcare_server.stores runs SQLite
        sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").fetchall()
    store_file = write_store(
        db,
        [
            Conversation("old", NOW - 40 * DAY).say("an old question about heels", "greet"),
            Conversation("new", NOW - DAY).say("a fresh question", "greet"),
        ],
    )
    server = sqlite3.connect(db)  # a reader that stays open, like the running Rasa server
    server.execute("SELECT count(*) FROM events").fetchall()

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("conversations.db*"))

    assert b"an old question about heels" in on_disk()
    retention.purge(connect(store_file), days=30, now=NOW)
    assert b"an old question about heels" not in on_disk()
    assert b"a fresh question" in on_disk()
    assert server.execute("SELECT count(*) FROM events WHERE sender_id = 'new'").fetchone()[0] > 0
    server.close()


def test_purge_removes_old_review_reports(store_file, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    old, new = reports / "review-old.html", reports / "review.html"
    old.write_text("old"), new.write_text("new")
    os.utime(old, (NOW - 31 * DAY, NOW - 31 * DAY))
    deleted = retention.purge(connect(store_file), days=30, now=NOW, reports_dir=reports)
    assert deleted.reports == ["review-old.html"]
    assert new.exists() and not old.exists()


def test_purge_rejects_a_period_below_one_day(store_file):
    with pytest.raises(ValueError):
        retention.purge(connect(store_file), days=0)


def test_purge_command_for_cron(store_file, tmp_path):
    result = script("purge", "--days", "30", "--endpoints", str(store_file), "--reports", str(tmp_path / "none"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("purge: kept the last 30 days; deleted") and result.stderr == ""
    again = script("purge", "--quiet", "--endpoints", str(store_file), env={"FOOTCARE_RETENTION_DAYS": "30"})
    assert again.returncode == 0 and again.stdout == "" and again.stderr == ""
    assert sorted(connect(store_file).sender_ids()) == ["mixed-sender", "new-sender"]


def test_purge_command_fails_clearly_without_a_store(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n")
    result = script("purge", "--endpoints", str(endpoints))
    assert result.returncode == 2 and "no tracker_store" in result.stderr
    assert script("purge", "--endpoints", str(tmp_path / "missing.yml")).returncode == 2


def test_a_missing_database_file_is_nothing_to_delete(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp_path / 'none.db'}\n")
    store = connect(endpoints)
    assert retention.purge(store, days=30).events == 0 and store.sender_ids() == []
    assert not (tmp_path / "none.db").exists()


def test_erase_deletes_one_conversation_only(store_file):
    store = connect(store_file)
    deleted = retention.erase(store, "mixed-sender")
    assert deleted.events == 14 and deleted.conversations == 1
    assert sorted(store.sender_ids()) == ["new-sender", "old-sender"]
    assert b"new session words" not in Path(store.engine.url.database).read_bytes()
    assert retention.erase(store, "mixed-sender").events == 0


def test_erase_removes_reports_that_quote_the_person(store_file, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "review.html").write_text("<td>a fresh question</td>")
    (reports / "other.html").write_text("<td>something else entirely</td>")
    deleted = retention.erase(connect(store_file), "new-sender", reports_dir=reports)
    assert deleted.reports == ["review.html"]
    assert (reports / "other.html").exists()


def test_erase_command_and_find(store_file, tmp_path):
    found = script("erase", "--find", "FRESH QUESTION", "--endpoints", str(store_file))
    assert found.returncode == 0 and found.stdout.split("\t")[0] == "new-sender"
    result = script("erase", "new-sender", "--endpoints", str(store_file), "--reports", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "deleted 7 events" in result.stdout
    assert script("erase", "new-sender", "--endpoints", str(store_file)).returncode == 1
    assert script("erase", "--find", "fresh", "--endpoints", str(store_file)).returncode == 1
    assert script("erase", "--endpoints", str(store_file)).returncode == 2  # usage error


def test_purge_resets_the_slots_carried_over_from_deleted_sessions(tmp_path):
    conversation = (
        Conversation("carried", NOW - 40 * DAY)
        .say(
            "I have a heel spur and my foot is numb",
            "describe_symptoms",
            slots={"condition": "heel_spur", "red_flags": ["numbness"]},
        )
        .new_session(10 * DAY, carried={"condition": "heel_spur", "red_flags": ["numbness"]})
        .say("what about self massage?", "ask_self_massage", slots={"topic": "self_massage"})
        .new_session(
            35 * DAY - 600, carried={"condition": "heel_spur", "red_flags": ["numbness"], "topic": "self_massage"}
        )
        .say("and the side effects?", "ask_side_effects")
    )
    store = connect(write_store(tmp_path / "conversations.db", [conversation]))
    deleted = retention.purge(store, days=30, now=NOW)
    assert deleted.trimmed == 1
    slots = [(e.data["name"], e.data["value"]) for e in store.iter_events() if e.type_name == "slot"]
    # what the kept session set itself, and carried into the next one, stays; the rest came from deleted sessions
    assert slots == [("topic", "self_massage"), ("topic", "self_massage")]
    assert texts(store) == ["what about self massage?", "and the side effects?"]


def test_purge_removes_reports_that_quote_deleted_messages_whatever_their_age(store_file, tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "review.html").write_text("<td>an old question about heels</td><td>a fresh question</td>")
    (reports / "unclear_nlu.yml").write_text("- a fresh question\n")
    deleted = retention.purge(connect(store_file), days=30, now=NOW, reports_dir=reports)
    assert deleted.reports == ["review.html"]  # written today, but it quotes a message deleted now
    assert (reports / "unclear_nlu.yml").exists()


def test_erase_finds_short_messages_in_reports(tmp_path):
    store_file = write_store(
        tmp_path / "conversations.db",
        [
            Conversation("web:0123456789abcdef0123456789abcdef", NOW - DAY)
            .say("hi", "greet")
            .say("my heel", "describe_symptoms"),
            Conversation("telegram:42", NOW - DAY).say("hello there", "greet"),
        ],
    )
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "review.html").write_text("<table><tr><td>0.41</td><td>my heel</td></tr></table>")
    (reports / "unclear_nlu.yml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hi\n")
    (reports / "other.html").write_text("<td>this is hi-fi, my heelwork</td><td>hello there</td>")
    deleted = retention.erase(connect(store_file), "web:0123456789abcdef0123456789abcdef", reports_dir=reports)
    assert deleted.reports == ["review.html", "unclear_nlu.yml"]
    assert (reports / "other.html").exists()


def test_purge_and_erase_delete_in_small_transactions(store_file, monkeypatch):
    monkeypatch.setattr(retention, "DELETE_BATCH", 3)
    store = connect(store_file)
    commits: list[int] = []
    sa.event.listen(store.engine, "commit", lambda conn: commits.append(1))
    deleted = retention.purge(store, days=30, now=NOW)
    assert deleted.events >= 14 and len(commits) >= deleted.events // 3
    commits.clear()
    assert retention.erase(store, "new-sender").events == 7 and len(commits) >= 3


def test_purge_says_when_the_write_ahead_log_could_not_be_emptied(tmp_path):
    db = tmp_path / "conversations.db"
    sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").fetchall()
    store_file = write_store(
        db,
        [
            Conversation("old", NOW - 40 * DAY).say("an old question about heels", "greet"),
            Conversation("new", NOW - DAY).say("a fresh question", "greet"),
        ],
    )
    reader = sqlite3.connect(db, isolation_level=None)  # a reader in the middle of a read
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchall()
    writer = sqlite3.connect(db)  # and a write after it began, which the checkpoint may not pass
    writer.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES ('new', 'x', ?, '{}')", (NOW,))
    writer.commit()
    writer.close()
    deleted = retention.purge(connect(store_file), days=30, now=NOW)
    assert any("write-ahead log could not be emptied" in problem for problem in deleted.problems)
    assert "WARNING" in deleted.summary()
    reader.execute("COMMIT")
    reader.close()
    assert retention.erase(connect(store_file), "new").problems == []  # nothing in the way any more


def test_erase_takes_an_id_without_its_channel_when_it_is_unambiguous(tmp_path):
    store_file = write_store(
        tmp_path / "conversations.db",
        [
            Conversation("telegram:42", NOW - DAY).say("from telegram", "greet"),
            Conversation("web:42", NOW - DAY).say("from the widget", "greet"),
            Conversation("telegram:7", NOW - DAY).say("only on telegram", "greet"),
        ],
    )
    ambiguous = script("erase", "42", "--endpoints", str(store_file), "--reports", str(tmp_path))
    assert ambiguous.returncode == 1 and "telegram:42" in ambiguous.stderr and "web:42" in ambiguous.stderr
    result = script("erase", "7", "--endpoints", str(store_file), "--reports", str(tmp_path))
    assert result.returncode == 0 and result.stdout.startswith("erase: telegram:7: deleted")
    found = script("erase", "--find", "from the widget", "--endpoints", str(store_file))
    assert found.stdout.split("\t")[0] == "web:42"
    assert sorted(connect(store_file).sender_ids()) == ["telegram:42", "web:42"]


def test_store_url_follows_the_endpoints_file(tmp_path, monkeypatch):
    (tmp_path / "sqlite.yml").write_text("tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: conversations.db\n")
    assert database_url(tmp_path / "sqlite.yml", root=tmp_path).database == str(tmp_path / "conversations.db")
    monkeypatch.setenv("TEST_DB_PASSWORD", "s3cret")
    (tmp_path / "pg.yml").write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: db.internal\n  port: 5433\n"
        "  db: footcare\n  username: rasa\n  password: ${TEST_DB_PASSWORD}\n"
    )
    url = database_url(tmp_path / "pg.yml")
    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == (
        "postgresql",
        "db.internal",
        5433,
        "footcare",
        "rasa",
        "s3cret",
    )
    store = connect(tmp_path / "pg.yml")  # no connection is made until it is used
    assert "s3cret" not in store.describe() and "db.internal" in store.describe()
    (tmp_path / "strict.yml").write_text(
        "tracker_store:\n  type: footcare_server.stores.StrictSQLTrackerStore\n  dialect: sqlite\n  db: c.db\n"
    )
    assert database_url(tmp_path / "strict.yml", root=tmp_path).database == str(tmp_path / "c.db")
    (tmp_path / "redis.yml").write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    with pytest.raises(StoreError, match="not supported"):
        connect(tmp_path / "redis.yml")


@pytest.fixture(scope="module")
def postgres():
    from footcare_testing.datastores import PostgreSQL

    server = PostgreSQL().start()
    try:
        yield server
    finally:
        server.remove()


def test_review_purge_and_erase_read_the_production_postgresql_store(postgres, tmp_path):
    """endpoints.production.yml's tracker store, unchanged, filled in from the environment as in production."""
    endpoints = ROOT / "endpoints.production.yml"  # as it is: Rasa fills in only unquoted ${...}
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres.port),
        "DB_NAME": postgres.DATABASE,
        "DB_USER": postgres.USER,
        "DB_PASSWORD": "",
        "ACTION_SERVER_URL": "http://127.0.0.1:1/webhook",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_DB": "1",
        "REDIS_PASSWORD": "",
    }
    save_conversations(
        postgres.tracker_store(),
        [
            Conversation("pg-old", NOW - 40 * DAY).say(
                "an old question about heels", "ask_benefits", slots={"topic": "benefits"}
            ),
            Conversation("pg-new", NOW - DAY)
            .say(f"call me on {PHONE}", "ask_booking", action="action_booking")
            .say("is it safe with blood thinners", "ask_safety", slots={"topic": "safety"}),
            Conversation("pg-erase", NOW - DAY).say("please forget me", "ask_safety", slots={"topic": "safety"}),
        ],
    )

    review = script("review", "--endpoints", str(endpoints), "--out", str(tmp_path / "reports"), env=env)
    assert review.returncode == 0, review.stderr
    assert "postgresql database 'footcare' on 127.0.0.1" in review.stdout
    assert re.search(r"user messages +4\n", review.stdout) and PHONE not in review.stdout

    relfile = postgres.query("SELECT pg_relation_filenode('events')")
    purge = script("purge", "--days", "30", "--full", "--endpoints", str(endpoints), env=env)
    assert purge.returncode == 0 and "1 conversations removed" in purge.stdout, purge.stdout + purge.stderr
    # VACUUM FULL wrote the table into a new file (the old one, with the deleted rows, is gone)
    assert postgres.query("SELECT pg_relation_filenode('events')") != relfile
    erase = script("erase", "pg-erase", "--endpoints", str(endpoints), env=env)
    assert erase.returncode == 0, erase.stderr
    assert postgres.query("SELECT DISTINCT sender_id FROM events") == [("pg-new",)]


# ---------------------------------------------------------------- with the real bot


def new_sender() -> str:
    return f"privacy-{uuid.uuid4().hex[:12]}"


def age(store, sender: str, days: float) -> None:
    table = store.events
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(table).where(table.c.sender_id == sender).values(timestamp=table.c.timestamp - days * DAY)
        )


@pytest.mark.model
def test_purge_and_erase_on_conversations_with_the_real_bot(stack, tmp_path):
    old, kept, erased = new_sender(), new_sender(), new_sender()
    for sender in (old, kept, erased):
        stack.say(sender, "I have plantar fasciitis")
        stack.say(sender, "what are the side effects?")
    store = connect(stack.endpoints)
    stored = {s: f"rest:{s}" for s in (old, kept, erased)}  # REST conversations are stored as rest:<sender>
    assert all(store.count(stored[s]) > 0 for s in (old, kept, erased))

    age(store, stored[old], 40)  # as if this conversation had happened 40 days ago
    result = script("purge", "--days", "30", "--endpoints", str(stack.endpoints), "--reports", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert store.count(stored[old]) == 0 and store.count(stored[kept]) > 0

    result = script("erase", erased, "--endpoints", str(stack.endpoints), "--reports", str(tmp_path))
    assert result.returncode == 0, result.stderr  # the id as the person gave it, without its channel
    assert store.count(stored[erased]) == 0 and store.count(stored[kept]) > 0

    # The server carries on: the kept conversation still knows the condition; the others start afresh.
    from footcare_content.knowledge import knowledge

    preparation, side_effects = knowledge().topics["preparation"], knowledge().topics["side_effects"]
    assert preparation.by_condition["plantar_fasciitis"] in "\n".join(
        r.get("text", "") for r in stack.say(kept, "how should i prepare?")
    )
    for sender in (old, erased):
        reply = "\n".join(r.get("text", "") for r in stack.say(sender, "side effects?"))
        assert (
            shown(side_effects.answer) in reply and shown(side_effects.by_condition["plantar_fasciitis"]) not in reply
        )
