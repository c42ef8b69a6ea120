"""Shared fixtures: trackers built from tests/data/initial_tracker.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tracker_json() -> dict[str, Any]:
    return json.loads((DATA / "initial_tracker.json").read_text())


@pytest.fixture
def make_tracker(tracker_json) -> Callable[..., Tracker]:
    """Builds a tracker whose latest user message has the given text, intent, entities and slots, and
    the safety findings the NLU's lexicon puts on it (or `findings`, as given)."""
    from tests.safety_helpers import lexicon_findings

    def build(
        text: str, intent: str, entities: Optional[list] = None, findings: Any = "lexicon", **slots: Any
    ) -> Tracker:
        data = copy.deepcopy(tracker_json)
        data["slots"].update(slots)
        message = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
        message["footcare_safety"] = lexicon_findings(text) if findings == "lexicon" else findings
        data["latest_message"] = message
        data["events"].append({"event": "user", "text": text, "parse_data": message})
        return Tracker.from_dict(data)

    return build


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One running action server + Rasa server (REST, SQLite tracker store) shared by model tests."""
    from footcare_testing.servers import MODEL, ActionServer, RasaServer

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    workdir = tmp_path_factory.mktemp("stack")
    actions_server = ActionServer(workdir).start()
    rasa = RasaServer(workdir, actions_server.url)
    try:
        rasa.start()
        yield rasa
    finally:
        rasa.stop()
        actions_server.stop()


@pytest.fixture(scope="session")
def channels_stack(tmp_path_factory):
    """Action server + Rasa server with the channels of credentials.yml (REST, the widget's
    socket.io, Telegram), Telegram pointed at a fake Bot API on 127.0.0.1, and the widget's
    origin set to a port kept free for the demo page (tests/test_widget.py starts it)."""
    from types import SimpleNamespace

    from footcare_testing import fake_telegram
    from footcare_testing.servers import MODEL, ROOT, ActionServer, RasaServer, free_port

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    workdir = tmp_path_factory.mktemp("channels")
    telegram = fake_telegram.FakeTelegram().start()
    web_port = free_port()
    origin = f"http://127.0.0.1:{web_port}"
    env = {
        "TELEGRAM_TOKEN": fake_telegram.TOKEN,
        "TELEGRAM_SECRET_TOKEN": fake_telegram.SECRET,
        "TELEGRAM_BOT_NAME": fake_telegram.BOT_NAME,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_WEBHOOK_URL": "https://assistant.example-clinic.test/webhooks/telegram/webhook",
        "WIDGET_ORIGINS": origin,
        "SANIC_GRACEFUL_SHUTDOWN_TIMEOUT": "3",  # widget sockets would hold the shutdown for 15 s
    }
    credentials = yaml.safe_load((ROOT / "credentials.yml").read_text())
    actions_server = ActionServer(workdir).start()
    rasa = RasaServer(workdir, actions_server.url, credentials=credentials, env=env, extra_args=("--cors", origin))
    try:
        rasa.start()
        yield SimpleNamespace(rasa=rasa, telegram=telegram, web_port=web_port, origin=origin, workdir=workdir)
    finally:
        rasa.stop()
        actions_server.stop()
        telegram.stop()
