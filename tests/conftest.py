"""Shared fixtures: trackers built from tests/data/initial_tracker.json."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tracker_json() -> dict[str, Any]:
    return json.loads((DATA / "initial_tracker.json").read_text())


@pytest.fixture
def make_tracker(tracker_json) -> Callable[..., Tracker]:
    """Builds a tracker whose latest user message has the given text, intent, entities and slots."""

    def build(text: str, intent: str, entities: Optional[list] = None, **slots: Any) -> Tracker:
        data = copy.deepcopy(tracker_json)
        data["slots"].update(slots)
        message = {"text": text, "intent": {"name": intent, "confidence": 0.95}, "entities": entities or []}
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
    from tests.servers import MODEL, ActionServer, RasaServer

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
