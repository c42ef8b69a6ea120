"""footcare_server/speedups.py: the Rasa server's shortcuts compute what Rasa computes.

That Rasa really calls each of them is tested in tests/test_runtime.py."""

from __future__ import annotations

from typing import Any, Dict, List, Text

import pytest
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage

from footcare_server import runtime, speedups

CALLS: List[Text] = []


@pytest.fixture(scope="module", autouse=True)
def changed_rasa():
    with runtime.installed():
        yield


class Step(GraphComponent):
    """Appends its name to what it receives; records each call."""

    def __init__(self, name: Text) -> None:
        self.name = name

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage, resource, execution_context) -> "Step":
        return cls(config["name"])

    def run(self, **parts: Any) -> Text:
        CALLS.append(self.name)
        return "+".join([*(f"{k}={parts[k]}" for k in sorted(parts)), self.name])


class Broken(Step):
    def run(self, **parts: Any) -> Text:
        raise RuntimeError("broken node")


def node(name: Text, needs: Dict[Text, Text], uses=Step, target: bool = False) -> SchemaNode:
    return SchemaNode(
        needs=needs, uses=uses, constructor_name="create", fn="run", config={"name": name}, eager=True, is_target=target
    )


# A diamond (two paths share `tokens`) plus a node no target needs.
SCHEMA = GraphSchema(
    {
        "tokens": node("tokens", {"text": "__message__"}),
        "words": node("words", {"tokens": "tokens"}),
        "chars": node("chars", {"tokens": "tokens"}),
        "intent": node("intent", {"words": "words", "chars": "chars"}, target=True),
        "policy": node("policy", {"intent": "intent", "tracker": "__tracker__"}, target=True),
        "unused": node("unused", {"tokens": "tokens"}),
        "broken": node("broken", {"tokens": "tokens"}, uses=Broken),
    }
)


def run(runner_class, tmp_path, **kwargs):
    CALLS.clear()
    runner = runner_class.create(SCHEMA, LocalModelStorage(tmp_path), ExecutionContext(SCHEMA, "test"))
    return runner.run(**kwargs), sorted(CALLS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"inputs": {"__message__": "hi", "__tracker__": "t1"}, "targets": ["intent"]},
        {"inputs": {"__message__": "hi", "__tracker__": "t1"}, "targets": ["policy"]},
        {"inputs": {"__message__": "hi", "__tracker__": "t1"}, "targets": ["policy", "intent"]},
        {"inputs": {"__message__": "hi", "__tracker__": "t1"}, "targets": None},  # the schema's targets
    ],
)
def test_sequential_runner_gives_dask_results(tmp_path, kwargs):
    expected, expected_calls = run(DaskGraphRunner, tmp_path, **kwargs)
    got, calls = run(speedups.SequentialGraphRunner, tmp_path, **kwargs)
    assert got == expected
    # each needed node runs once, the others not at all
    assert calls == expected_calls and "unused" not in calls and calls.count("tokens") == 1


def test_sequential_runner_reports_a_missing_input_like_dask(tmp_path):
    """An input nobody gave is passed on as its name; the node then fails as under dask."""
    from rasa.engine.exceptions import GraphRunError

    for runner_class in (DaskGraphRunner, speedups.SequentialGraphRunner):
        with pytest.raises(GraphRunError, match="Missing input"):
            run(runner_class, tmp_path, inputs={"__tracker__": "t1"}, targets=["intent"])


def test_sequential_runner_wraps_node_errors_like_dask(tmp_path):
    from rasa.engine.exceptions import GraphComponentException

    for runner_class in (DaskGraphRunner, speedups.SequentialGraphRunner):
        with pytest.raises(GraphComponentException, match="node broken") as raised:
            run(runner_class, tmp_path, inputs={"__message__": "hi"}, targets=["broken"])
        assert str(raised.value.__cause__) == "broken node"


def test_event_classes_are_resolved_as_rasa_does():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_objects_alive_after_the_model_loads_are_frozen_once():
    import asyncio
    import gc

    import rasa.core.run

    runtime.install()  # a second time: nothing more changes
    listener = rasa.core.run.load_agent_on_start
    assert listener.freezes and not getattr(listener.__wrapped__, "freezes", False)

    loaded = object()

    async def load(*args, **kwargs):
        return loaded

    gc.unfreeze()
    try:
        assert asyncio.run(speedups._freeze_after(load)("model", "endpoints", None, "app", "loop")) is loaded
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
