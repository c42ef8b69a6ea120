"""Builds real Rasa SQL tracker stores (via Rasa's own SQLTrackerStore) for the workbench tests.

`Conversation` writes the events Rasa writes for a REST conversation (session
start, user message with parse data, actions, bot replies, slots), at chosen
times, so review, retention and erasure can be tested without a trained model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Optional

import yaml

DAY = 24 * 3600.0


def ranking(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": conf} for name, conf in pairs]


class Conversation:
    def __init__(self, sender: str, start: float) -> None:
        from rasa.shared.core.events import ActionExecuted, SessionStarted

        self.sender, self.clock = sender, start
        self.events: list = []
        self._session(ActionExecuted, SessionStarted)

    def _tick(self, seconds: float = 1.0) -> float:
        self.clock += seconds
        return self.clock

    def _session(self, ActionExecuted, SessionStarted, carried: Optional[dict[str, Any]] = None) -> None:
        from rasa.shared.core.events import SlotSet

        self.events += [
            ActionExecuted("action_session_start", timestamp=self._tick()),
            SessionStarted(timestamp=self._tick()),
            *[SlotSet(name, value, timestamp=self._tick(0.01)) for name, value in (carried or {}).items()],
            ActionExecuted("action_listen", timestamp=self._tick()),
        ]

    def new_session(self, after: float, carried: Optional[dict[str, Any]] = None) -> "Conversation":
        """A new session `after` seconds later; `carried`: the slots Rasa carries over into it."""
        from rasa.shared.core.events import ActionExecuted, SessionStarted

        self.clock += after
        self._session(ActionExecuted, SessionStarted, carried)
        return self

    def say(
        self,
        text: str,
        intent: str,
        confidence: float = 0.95,
        *,
        ranked: Optional[list[tuple[str, float]]] = None,
        entities: Optional[list[dict[str, Any]]] = None,
        action: str = "action_answer",
        reply: Optional[str] = "an answer",
        slots: Optional[dict[str, Any]] = None,
        after: float = 10.0,
    ) -> "Conversation":
        from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

        self._tick(after)
        ranked = ranked or [(intent, confidence)]
        parse = {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
            "intent_ranking": ranking(*ranked),
        }
        self.events.append(
            UserUttered(
                text, parse["intent"], parse["entities"], parse_data=parse, timestamp=self.clock, input_channel="rest"
            )
        )
        self.events.append(ActionExecuted(action, policy="RulePolicy", confidence=1.0, timestamp=self._tick(0.2)))
        if reply is not None:
            self.events.append(BotUttered(reply, timestamp=self._tick(0.1)))
        for name, value in (slots or {}).items():
            self.events.append(SlotSet(name, value, timestamp=self._tick(0.01)))
        self.events.append(ActionExecuted("action_listen", timestamp=self._tick(0.1)))
        return self


def save_conversations(tracker_store: dict[str, Any], conversations: list[Conversation]) -> None:
    """Saves the conversations through Rasa's SQLTrackerStore configured like an endpoints file's tracker_store."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load(str(Path(__file__).resolve().parent.parent / "domain.yml"))
    config = {k: v for k, v in tracker_store.items() if k not in ("type", "url")}
    store = SQLTrackerStore(domain, host=tracker_store.get("url"), **config)

    async def save_all() -> None:
        for conversation in conversations:
            # A new sender: SQLTrackerStore.save stores every event of the tracker.
            await store.save(DialogueStateTracker.from_events(conversation.sender, conversation.events, domain.slots))

    asyncio.run(save_all())
    store.engine.dispose()


def write_store(path: Path, conversations: list[Conversation]) -> Path:
    """Saves the conversations into a SQLite tracker store at `path`; returns an endpoints file naming it."""
    tracker_store = {"type": "SQL", "dialect": "sqlite", "db": str(path)}
    save_conversations(tracker_store, conversations)
    endpoints = path.with_suffix(".endpoints.yml")
    endpoints.write_text(yaml.safe_dump({"tracker_store": tracker_store}))
    return endpoints
