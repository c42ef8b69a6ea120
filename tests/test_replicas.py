"""Two Rasa replicas on one PostgreSQL and one Redis (endpoints.production.yml).

Fifty conversations run at once; each message of a conversation goes to the
other replica than the one before, so consecutive turns are read and written
by different processes (replica A also runs two Sanic workers). Afterwards
PostgreSQL must hold, for every conversation, every user message exactly once
and in order, each followed by a bot reply. Two messages of one conversation
sent at the same moment to both replicas are handled one after the other.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from footcare_testing.datastores import PostgreSQL, Redis, production_endpoints, start_or_explain
from footcare_testing.servers import MODEL, ActionServer, RasaServer, post_json

pytestmark = pytest.mark.model

CONVERSATIONS = 50
PROJECT_REST = {"channels.rest.RestInput": None}


def messages(number: int) -> list[str]:
    """What visitor `number` says, one turn each; the visitor number makes every text unique."""
    return [
        f"hello, this is visitor {number}",
        "what is fascia massage?",
        f"how should I prepare for a session, visitor {number} asks",
        "what side effects can it have?",
        f"thank you from visitor {number}",
    ]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    workdir = tmp_path_factory.mktemp("replicas")
    pg = start_or_explain(PostgreSQL)
    redis = start_or_explain(Redis)
    tracker_store, lock_store, env = production_endpoints(pg, redis)
    actions = ActionServer(workdir, env={"ACTION_SERVER_SANIC_WORKERS": "2"})
    servers = [
        RasaServer(
            workdir,
            actions.url,
            tracker_store=tracker_store,
            lock_store=lock_store,
            credentials=PROJECT_REST,
            env={**env, "SANIC_WORKERS": "2"},
        ),
        RasaServer(
            workdir, actions.url, tracker_store=tracker_store, lock_store=lock_store, credentials=PROJECT_REST, env=env
        ),
    ]
    try:
        actions.start()
        # Both replicas load the model at the same time.
        problems: list[BaseException] = []

        def start(server: RasaServer) -> None:
            try:
                server.start()
            except BaseException as error:  # reported below, with the server's log
                problems.append(error)

        threads = [threading.Thread(target=start, args=(server,)) for server in servers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if problems:
            raise problems[0]
        yield pg, servers
    finally:
        for server in servers:
            server.stop()
        actions.stop()
        redis.remove()
        pg.remove()


def talk(servers: list[RasaServer], number: int) -> list[list[dict[str, Any]]]:
    """One visitor's conversation, each message to the other replica than the one before."""
    sender = f"visitor-{number}"
    replies = []
    for turn, text in enumerate(messages(number)):
        server = servers[(number + turn) % len(servers)]
        replies.append(
            post_json(f"{server.url}/webhooks/rest/webhook", {"sender": sender, "message": text}, timeout=120)
        )
    return replies


def stored_turns(pg: PostgreSQL, sender: str) -> list[tuple[str, list[str]]]:
    """(user text, bot texts that followed it) for each user message in PostgreSQL, in stored order."""
    turns: list[tuple[str, list[str]]] = []
    for type_name, data in pg.query(
        "SELECT type_name, data FROM events WHERE sender_id = %s ORDER BY id", f"rest:{sender}"
    ):
        event = json.loads(data)
        if type_name == "user":
            turns.append((event.get("text"), []))
        elif type_name == "bot" and turns:
            turns[-1][1].append(event.get("text"))
    return turns


def test_fifty_conversations_alternating_between_two_replicas_keep_every_message_in_order(replicas):
    pg, servers = replicas
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool:
        results = list(pool.map(lambda number: talk(servers, number), range(CONVERSATIONS)))

    for number, replies in enumerate(results):
        assert all(reply for reply in replies), f"visitor {number} got a turn without a reply: {replies}"

    problems = []
    for number in range(CONVERSATIONS):
        turns = stored_turns(pg, f"visitor-{number}")
        if [text for text, _ in turns] != messages(number):
            problems.append(f"visitor-{number}: stored user messages {[text for text, _ in turns]}")
        elif not all(bot_texts for _, bot_texts in turns):
            problems.append(f"visitor-{number}: a user message without a bot reply after it")
    assert not problems, "\n".join(problems[:10])


def test_two_messages_of_one_conversation_at_once_on_both_replicas_are_handled_one_after_the_other(replicas):
    """Redis's per-conversation lock: without it both replicas would read the same history and interleave."""
    pg, servers = replicas
    pairs = {
        f"pair-{number}": (f"hello from pair {number}", f"what is fascia massage, pair {number}?")
        for number in range(20)
    }
    jobs = [(server, sender, text) for sender, texts in pairs.items() for server, text in zip(servers, texts)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        replies = list(
            pool.map(
                lambda job: post_json(
                    f"{job[0].url}/webhooks/rest/webhook", {"sender": job[1], "message": job[2]}, timeout=120
                ),
                jobs,
            )
        )
    assert all(replies)
    for sender, texts in pairs.items():
        turns = stored_turns(pg, sender)
        assert sorted(text for text, _ in turns) == sorted(texts), (sender, turns)
        assert all(bot_texts for _, bot_texts in turns), f"{sender}: the two turns interleaved: {turns}"


def test_no_replica_kept_conversations_anywhere_but_postgresql(replicas):
    pg, servers = replicas
    senders = {sender for (sender,) in pg.query("SELECT DISTINCT sender_id FROM events")}
    assert {f"rest:visitor-{number}" for number in range(CONVERSATIONS)} <= senders
    for server in servers:
        log = server.log.read_text(errors="replace")
        assert "InMemoryTrackerStore" not in log, f"{server.url} fell back to memory:\n{log[-2000:]}"


def test_lock_tickets_stay_unique_when_processes_take_them_at_once():
    """Many takers of tickets for one conversation at the same moment: each gets its own number."""
    from footcare_server.locks import AtomicRedisLockStore

    redis = start_or_explain(Redis)
    try:
        stores = [AtomicRedisLockStore(host="127.0.0.1", port=redis.port, db=1) for _ in range(8)]
        with ThreadPoolExecutor(max_workers=len(stores)) as pool:
            tickets = list(pool.map(lambda store: [store.issue_ticket("one-conversation") for _ in range(25)], stores))
        numbers = [number for batch in tickets for number in batch]
        assert sorted(numbers) == list(range(len(numbers)))
        lock = stores[0].get_lock("one-conversation")
        for number in numbers:
            stores[number % len(stores)].cleanup("one-conversation", number)
        assert len(lock.tickets) == len(numbers) and stores[0].get_lock("one-conversation") is None
    finally:
        redis.remove()


def test_the_lock_scripts_keep_rasas_ticket_rules(monkeypatch):
    """Issue, finish and prune in Redis give the tickets Rasa's own TicketLock gives, expiry included."""
    from types import SimpleNamespace

    from rasa.core.lock_store import InMemoryLockStore

    from footcare_server.locks import KEY_GRACE_S, AtomicRedisLockStore

    # One clock for both stores (our script gets the time from Python, as Rasa's tickets do), moved by hand.
    clock = SimpleNamespace(now=1_700_000_000.0)
    clock.time = lambda: clock.now
    monkeypatch.setattr("footcare_server.locks.time", clock)
    monkeypatch.setattr("rasa.core.lock.time", clock)
    redis = start_or_explain(Redis)
    try:
        ours, rasas = AtomicRedisLockStore(host="127.0.0.1", port=redis.port, db=1), InMemoryLockStore()

        def tickets(store) -> list:
            lock = store.get_lock("visitor")
            return [(ticket.number, ticket.expires) for ticket in lock.tickets] if lock else []

        def both(change) -> None:
            results = [change(store) for store in (ours, rasas)]
            assert results[0] == results[1]
            assert tickets(ours) == tickets(rasas)  # the same numbers and expiry times

        both(lambda store: store.issue_ticket("visitor", 0.3))  # 0, expires soon
        both(lambda store: store.issue_ticket("visitor", 60))  # 1
        both(lambda store: store.issue_ticket("visitor", 60))  # 2
        assert ours.get_lock("visitor").conversation_id == "visitor"
        assert ours.get_lock("visitor").is_locked(1) and not ours.get_lock("visitor").is_locked(0)
        both(lambda store: store.finish_serving("visitor", 2))
        both(lambda store: store.finish_serving("visitor", 7))  # unknown ticket: nothing changes
        clock.now += 0.4
        both(lambda store: store.update_lock("visitor"))  # ticket 0 has expired
        assert [number for number, _ in tickets(ours)] == [1]
        assert not ours.get_lock("visitor").is_locked(1)
        both(lambda store: store.issue_ticket("visitor", 60))  # 2 again: the last ticket's number + 1
        # The key outlives its last ticket by KEY_GRACE_S, so a crashed replica leaves nothing.
        assert 60 + KEY_GRACE_S - 2 <= ours.red.ttl(ours.key_prefix + "visitor") <= 60 + KEY_GRACE_S + 1
        for number in (1, 2):
            ours.cleanup("visitor", number)
        assert ours.get_lock("visitor") is None and not ours.red.exists(ours.key_prefix + "visitor")
        assert ours.issue_ticket("visitor") == 0  # a new lock starts at 0, as Rasa's does
    finally:
        redis.remove()
