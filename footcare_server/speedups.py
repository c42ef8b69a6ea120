"""Work the Rasa 3.6 server repeats on every turn although its result never
changes, found by profiling turns (py-spy). Its changes (made by
footcare_server.runtime.install()) make each piece happen once; what the
server computes stays the same. Each is kept because it still pays, measured
in-process against Rasa's own code on this model (2 shared cores):
the response check 42 ms -> 1.0 ms an action call; an event's class 49 us ->
0.2 us an event read; the graph runs 18.2 -> 17.2 ms CPU a message's NLU and
0.97 -> 0.63 ms a policy prediction (two a turn); full collections, which
stalled a turn for 0.4-0.7 s about every 750 turns, take under 0.1 s.

- Action responses: `RemoteAction._validate_action_result` checks every action
  server response with `jsonschema.validate`, which first validates the large,
  constant schema itself against the JSON Schema meta-schema: about a fifth of
  the server's CPU per turn. Here the same check runs with a validator built
  once (same schema, same errors: the best match, with Rasa's hint appended).
- Graph runs: a turn runs the model's graph three times (NLU, then two policy
  predictions). `DaskGraphRunner.run` first works out which nodes the targets
  need (a recursive walk without memory, which visits shared ancestors again
  and again), builds a dask graph of them and lets dask order and run it, all
  in the calling thread. `SequentialGraphRunner` works out the order once per
  set of targets and then calls the same instantiated nodes in that order with
  the same inputs; the Rasa server uses it for predictions (training keeps
  dask).
- Events: `Event.resolve_by_type` walks every subclass of `Event` for each
  event read from the tracker store or the action server; the class found for
  a type name is remembered.
- Garbage collection: once the model is loaded, the objects alive then
  (TensorFlow, the model, the domain: millions of them, kept until the server
  stops) are moved out of the collector's way (`gc.freeze()`), so the full
  collections that Python runs every so often no longer walk all of them in
  the middle of a turn. Objects made later are collected as usual.
"""

from __future__ import annotations

import gc
import logging
from functools import lru_cache, wraps
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import rasa.core.processor
import rasa.core.run
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _response_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate would on every call
    return validator_class(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import DOCS_BASE_URL

    error = best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


class SequentialGraphRunner(DaskGraphRunner):
    """DaskGraphRunner's nodes, run in a dependency order computed once per targets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: Dict[Tuple[Text, ...], List[Tuple[Text, Sequence[Text]]]] = {}

    def _plan(self, targets: Tuple[Text, ...]) -> List[Tuple[Text, Sequence[Text]]]:
        plan = self._plans.get(targets)
        if plan is None:
            nodes, plan, done = self._graph_schema.nodes, [], set()

            def visit(name: Text) -> None:
                if name in done or name not in nodes:  # done, or an input placeholder
                    return
                done.add(name)
                needs = list(nodes[name].needs.values())
                for need in needs:
                    visit(need)
                plan.append((name, needs))

            for target in targets:
                visit(target)
            self._plans[targets] = plan
        return plan

    def run(
        self,
        inputs: Optional[Dict[Text, Any]] = None,
        targets: Optional[List[Text]] = None,
    ) -> Dict[Text, Any]:
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        # like dask: an input arrives as (name, value), a name nothing provides as itself
        values: Dict[Text, Any] = {name: (name, value) for name, value in (inputs or {}).items()}
        try:
            for node_name, needs in self._plan(run_targets):
                node = self._instantiated_nodes[node_name]
                values[node_name] = node(*[values.get(need, need) for need in needs])
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e
        return dict(values[target] for target in run_targets)


_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: Dict[Text, Any] = {}


def _resolve_by_type(type_name: Text, default: Optional[Any] = None) -> Optional[Any]:
    cls = _event_classes.get(type_name)
    if cls is None:
        cls = next((c for c in all_subclasses(Event) if c.type_name == type_name), None)
        if cls is None:  # unknown: Rasa's own answer (a default, None or an error)
            return _rasa_resolve_by_type(type_name, default)
        _event_classes[type_name] = cls
    return cls


def _freeze_after(load_agent: Any) -> Any:
    """Rasa's `load_agent_on_start`, then the objects alive after loading are frozen."""

    @wraps(load_agent)
    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        agent = await load_agent(*args, **kwargs)
        gc.collect()
        gc.freeze()
        logger.debug("Model loaded; %d objects moved out of the garbage collector's way.", gc.get_freeze_count())
        return agent

    load_agent_on_start.freezes = True
    return load_agent_on_start


def changes() -> list:
    """The four shortcuts, as changes for footcare_server.runtime.install()."""
    return [
        (RemoteAction, "_validate_action_result", _validate_action_result),
        (Event, "resolve_by_type", staticmethod(_resolve_by_type)),
        # the class MessageProcessor loads a model's prediction graph with
        (rasa.core.processor, "DaskGraphRunner", SequentialGraphRunner),
        # `rasa run` registers this listener after install() has run (footcare_server/runtime.py)
        (rasa.core.run, "load_agent_on_start", _freeze_after(rasa.core.run.load_agent_on_start)),
    ]
