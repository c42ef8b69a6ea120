"""footcare_server/runtime.py: one call installs every change to Rasa, and Rasa really calls each one.

The changes are made for this module's tests only (`runtime.installed()`), and put back after.

Each test drives Rasa's own code (RemoteAction.run, Agent, serve_application, Event.from_parameters),
not the replacement directly, so a change Rasa stopped calling after an upgrade fails here.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from footcare_server import runtime, speedups
from footcare_testing.servers import MODEL, ROOT, base_env


@pytest.fixture(scope="module", autouse=True)
def changed_rasa():
    with runtime.installed():
        yield


DOMAIN = Domain.from_dict(
    {
        "intents": ["greet"],
        "slots": {"topic": {"type": "any", "mappings": [{"type": "custom"}]}},
        "actions": ["action_answer"],
    }
)


class FakeEndpoint(EndpointConfig):
    """An action endpoint that records each request and answers with `answer` (or raises it)."""

    def __init__(self, answer: Any) -> None:
        super().__init__(url="http://127.0.0.1:1/webhook")
        self.answer, self.calls = answer, []

    async def request(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def run_action(endpoint: FakeEndpoint) -> list:
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    tracker = DialogueStateTracker.from_events("runtime-test", [], slots=DOMAIN.slots)
    action = RemoteAction("action_answer", endpoint)
    return asyncio.run(action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker, DOMAIN))


def test_other_rasa_versions_are_refused_before_anything_changes(monkeypatch):
    assert runtime.check_rasa_version().startswith("3.6.")
    with pytest.raises(runtime.UnsupportedRasa, match=r"Rasa 3\.7\.0 is installed"):
        runtime.check_rasa_version("3.7.0")
    import rasa

    monkeypatch.setattr(rasa, "__version__", "4.0.0")
    with pytest.raises(runtime.UnsupportedRasa):
        runtime.install()


def test_rasa_calls_the_action_server_with_the_timeout(monkeypatch):
    """action_timeout: RemoteAction.run passes ACTION_SERVER_TIMEOUT, not Rasa's 300 s, to the request."""

    from footcare_server import action_timeout

    monkeypatch.setenv("ACTION_SERVER_TIMEOUT", "2.5")
    [(module, name, value)] = action_timeout.changes()
    monkeypatch.setattr(module, name, value)  # put back after
    endpoint = FakeEndpoint({"events": [], "responses": []})
    run_action(endpoint)
    assert [call["timeout"] for call in endpoint.calls] == [2.5]


def test_a_failed_action_answers_with_the_apology():
    """action_fallback: RemoteAction.run returns the never-silent reply instead of raising."""
    from footcare_content.apology import unavailable_text

    events = run_action(FakeEndpoint(ConnectionResetError("gone")))
    assert events == [BotUttered(unavailable_text())]


def test_rasa_validates_action_responses_with_the_validator_built_once():
    """speedups: RemoteAction.run's response check goes through the prebuilt validator."""
    before = speedups._response_validator.cache_info()
    events = run_action(FakeEndpoint({"events": [{"event": "slot", "name": "topic", "value": "ask_benefits"}]}))
    assert [e for e in events if isinstance(e, SlotSet)] == [SlotSet("topic", "ask_benefits")]
    after = speedups._response_validator.cache_info()
    assert after.hits + after.misses == before.hits + before.misses + 1
    # an invalid response is still refused, and the user gets the apology
    from footcare_content.apology import unavailable_text

    assert run_action(FakeEndpoint({"events": "not a list"})) == [BotUttered(unavailable_text())]


def test_rasa_reads_events_through_the_remembered_classes():
    """speedups: Event.from_parameters (every event read from the store) looks its class up once."""
    from rasa.shared.core.events import Event

    speedups._event_classes.clear()
    event = Event.from_parameters({"event": "slot", "name": "topic", "value": "ask_benefits"})
    assert event == SlotSet("topic", "ask_benefits")
    assert speedups._event_classes == {"slot": SlotSet}


def test_agents_wrap_strict_stores_so_their_errors_are_raised(tmp_path):
    """stores: Rasa's Agent wraps a StrictSQLTrackerStore in the wrapper that does not fall back to memory."""
    from rasa.core.agent import Agent

    from footcare_server.stores import StrictSQLTrackerStore, _FailClearly, refuse_memory_fallback

    store = StrictSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "c.db"))
    agent = Agent(domain=DOMAIN, tracker_store=store)
    assert type(agent.tracker_store) is _FailClearly
    assert agent.tracker_store._on_tracker_store_error is refuse_memory_fallback


def test_rasa_run_freezes_the_objects_alive_after_loading(monkeypatch):
    """speedups: the listener `rasa run` registers to load the model is the one that then freezes."""
    import rasa.core.run
    from sanic import Sanic

    registered = []
    register = Sanic.register_listener

    def record(app: Sanic, listener: Any, event: str) -> Any:
        registered.append((getattr(listener, "func", listener), event))
        return register(app, listener, event)

    monkeypatch.setattr(Sanic, "register_listener", record)
    monkeypatch.setattr(Sanic, "run", lambda app, **kwargs: None)  # configured, not started
    Sanic.test_mode = True
    rasa.core.run.serve_application(model_path=str(MODEL), channel="rest", enable_api=False, port=0)
    loaders = [listener for listener, event in registered if event == "before_server_start"]
    assert [loader for loader in loaders if getattr(loader, "freezes", False)] == [rasa.core.run.load_agent_on_start]


@pytest.mark.model
def test_the_rasa_server_runs_the_model_graph_with_the_sequential_runner():
    """speedups: MessageProcessor, loading the trained model, builds a SequentialGraphRunner."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(MODEL))
    assert type(agent.processor.graph_runner) is speedups.SequentialGraphRunner


def test_the_command_line_wrapper_is_rasas_after_install():
    """`python -m footcare_server <args>` is Rasa's CLI; it refuses to start on another Rasa."""
    done = subprocess.run(
        [sys.executable, "-m", "footcare_server", "--version"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Rasa Version      :         3.6." in done.stdout
    code = "import rasa; rasa.__version__ = '3.7.0'; import runpy; runpy.run_module('footcare_server', run_name='__main__')"
    refused = subprocess.run(
        [sys.executable, "-c", code, "--version"], cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=300
    )
    assert refused.returncode != 0 and "UnsupportedRasa" in refused.stderr and "Rasa Version" not in refused.stdout


def test_importing_the_modules_rasa_loads_by_name_changes_nothing():
    """A plain `rasa run` imports the channels named in credentials.yml and the endpoints' stores: Rasa stays as shipped."""
    modules = "channels.rest, channels.socketio, channels.telegram, footcare_server.stores, footcare_server.locks"
    code = (
        f"import {modules}, footcare_server.speedups, footcare_server.console\n"
        "import rasa.core.agent, rasa.core.channels.console as c\n"
        "from rasa.core.actions.action import RemoteAction\nfrom rasa.core.tracker_store import FailSafeTrackerStore\n"
        "from footcare_server import runtime\n"
        "print(runtime.is_installed(), hasattr(RemoteAction.run, '_footcare_fallback'),\n"
        "      rasa.core.agent.FailSafeTrackerStore is FailSafeTrackerStore, c.print_buttons.__module__)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base_env(), capture_output=True, text=True, timeout=300
    )
    assert done.stdout.split() == ["False", "False", "True", "rasa.core.channels.console"], done.stderr[-2000:]


def test_uninstall_puts_every_attribute_back():
    import rasa.core.agent
    import rasa.core.channels.console as rasa_console
    from rasa.shared.core.events import Event

    changed = [(owner, name, value) for owner, name, value in runtime.changes()]
    assert all(getattr(owner, name) is not None for owner, name, _ in changed)
    assert rasa_console.print_buttons.__module__ == "footcare_server.console"
    runtime.uninstall()
    try:
        assert not runtime.is_installed()
        assert not hasattr(RemoteAction.run, "_footcare_fallback")
        assert rasa_console.print_buttons.__module__ == "rasa.core.channels.console"
        assert rasa.core.agent.FailSafeTrackerStore.__module__ == "rasa.core.tracker_store"
        assert (
            vars(Event)["resolve_by_type"].__func__.__module__ == "rasa.shared.core.events"
        )  # Rasa's own staticmethod
    finally:
        runtime.install()
    assert hasattr(RemoteAction.run, "_footcare_fallback")


def test_sanics_access_log_leaves_out_the_query_string():
    """access_log: the line Sanic's access logger writes for a request to Rasa's HTTP API has no token."""
    import logging

    from sanic.log import access_logger

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.INFO)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    keep, level = Keep(), access_logger.level
    access_logger.addHandler(keep)  # Sanic's logging setup may stop its records from reaching the root
    access_logger.setLevel(logging.INFO)
    try:
        access_logger.info(
            "",
            extra={
                "request": "GET http://127.0.0.1:5005/model/parse?token=s3cret",
                "status": 200,
                "byte": 2,
                "host": "127.0.0.1",
            },
        )
    finally:
        access_logger.removeHandler(keep)
        access_logger.setLevel(level)
    [record] = keep.records
    assert record.request == "GET http://127.0.0.1:5005/model/parse?[query left out]"


def test_the_shell_prints_a_reply_with_buttons_whole(capsys, monkeypatch):
    """console: Rasa's own `_print_bot_output` (what `rasa shell` calls) prints every word of a reply with
    buttons, wrapped to the terminal, and the menu gets a short prompt of its own."""
    import re

    from rasa.core.channels.console import _print_bot_output

    from footcare_server import console

    monkeypatch.setenv("COLUMNS", "60")
    prompts = []
    monkeypatch.setattr(
        console.questionary, "select", lambda prompt, choices, **_: prompts.append((prompt, choices)) or "a menu"
    )
    first = (
        "One swollen, warm or red calf can be a blood clot: please get it checked today and do not massage "
        "that leg. If you get short of breath or chest pain, call 112."
    )
    text = f"{first}\nWould you like to hear more?"
    _print_bot_output({"text": text, "buttons": [{"title": "Yes", "payload": "/affirm"}]}, is_latest_message=True)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert " ".join(shown.split()) == " ".join(text.split()), repr(shown)
    assert max(len(line) for line in shown.splitlines()) < 60
    [(prompt, choices)] = prompts
    assert prompt == console.MENU_PROMPT and choices[0].startswith("1: Yes")


@pytest.mark.parametrize("command", ["shell", "run"])
def test_the_shell_and_the_server_start_without_the_libraries_deprecation_noise(command):
    done = subprocess.run(
        [sys.executable, "-m", "footcare_server", command, "--help"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr and "tensorflow/" not in done.stderr, done.stderr[-2000:]
