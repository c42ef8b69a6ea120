"""footcare_server/runtime.py: one call installs every change to Rasa, and Rasa really calls each one.

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

runtime.install()

DOMAIN = Domain.from_dict({"intents": ["greet"], "slots": {"topic": {"type": "any", "mappings": [{"type": "custom"}]}},
                           "actions": ["action_answer"]})


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
    monkeypatch.setattr(runtime, "_installed", False)
    with pytest.raises(runtime.UnsupportedRasa):
        runtime.install()


def test_rasa_calls_the_action_server_with_the_timeout(monkeypatch):
    """action_timeout: RemoteAction.run passes ACTION_SERVER_TIMEOUT, not Rasa's 300 s, to the request."""
    import rasa.core.actions.action as rasa_action

    from footcare_server import action_timeout

    monkeypatch.setattr(rasa_action, "DEFAULT_REQUEST_TIMEOUT", rasa_action.DEFAULT_REQUEST_TIMEOUT)  # put back after
    monkeypatch.setenv("ACTION_SERVER_TIMEOUT", "2.5")
    action_timeout.apply()
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
    done = subprocess.run([sys.executable, "-m", "footcare_server", "--version"], cwd=ROOT, env=base_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Rasa Version      :         3.6." in done.stdout
    code = "import rasa; rasa.__version__ = '3.7.0'; import runpy; runpy.run_module('footcare_server', run_name='__main__')"
    refused = subprocess.run([sys.executable, "-c", code, "--version"], cwd=ROOT, env=base_env(),
                             capture_output=True, text=True, timeout=300)
    assert refused.returncode != 0 and "UnsupportedRasa" in refused.stderr and "Rasa Version" not in refused.stdout


def test_rasas_own_commands_get_the_changes_from_the_modules_they_load_by_name():
    """A plain `rasa run` imports the channels named in credentials.yml; `rasa shell` the endpoints' tracker store."""
    for module in ("channels.rest", "footcare_server.stores"):
        code = (f"import {module}; from rasa.core.actions.action import RemoteAction; from footcare_server import runtime; "
                "print(runtime._installed, getattr(RemoteAction.run, '_footcare_fallback', False))")
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base_env(), capture_output=True, text=True,
                              timeout=300)
        assert done.stdout.split() == ["True", "True"], (module, done.stderr[-2000:])


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
        access_logger.info("", extra={"request": "GET http://127.0.0.1:5005/model/parse?token=s3cret", "status": 200,
                                      "byte": 2, "host": "127.0.0.1"})
    finally:
        access_logger.removeHandler(keep)
        access_logger.setLevel(level)
    [record] = keep.records
    assert record.request == "GET http://127.0.0.1:5005/model/parse?[query left out]"
