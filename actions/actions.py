"""Thin Rasa action classes over `actions.dialogue`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dialogue, safety
from actions.clinic import clinic
from actions.knowledge import knowledge
from footnlp.pipeline import FINDINGS_KEY

# Load the content when the action server starts, so that a mistake in
# content/*.yml stops it at once with the file and key, not at the first user.
knowledge()
clinic()
# And the language pipeline of the safety checks: loaded at the first message it took
# seconds, longer than the Rasa server waits for an action (ACTION_SERVER_TIMEOUT).
safety.preload()


def context(tracker: Tracker) -> dialogue.Context:
    return dialogue.Context(
        text=tracker.latest_message.get("text") or "",
        findings=tracker.latest_message.get(FINDINGS_KEY),
        condition=tracker.get_slot("condition"),
        last_topic=tracker.get_slot("topic"),
        offered_topic=tracker.get_slot("offered_topic"),
        red_flags=tracker.get_slot("red_flags") or (),
        urgency=tracker.get_slot("urgency"),
        contraindications=tracker.get_slot("contraindications") or (),
    )


def send(dispatcher: CollectingDispatcher, turn: dialogue.Turn) -> List[Dict[Text, Any]]:
    for reply in turn.replies:
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
    return [SlotSet(name, value) for name, value in turn.slots.items()]


class ActionAnswer(Action):
    """Answers a topic question, for the user's condition if known."""

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher, tracker, domain):
        ctx = context(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return send(dispatcher, dialogue.answer_topic(ctx, dialogue.topic_for_intent(intent, ctx)))


class ActionFollowUp(Action):
    """Handles yes/no after the assistant offered a next topic."""

    def name(self) -> Text:
        return "action_follow_up"

    async def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return send(dispatcher, dialogue.follow_up(context(tracker), affirmed=intent == "affirm"))


class MessageAction(Action, ABC):
    """Sends one of knowledge.yml's `messages`, still checked for warning signs."""

    buttons: bool = False

    @property
    @abstractmethod
    def key(self) -> Text:
        """The key of the message in knowledge.yml."""

    def name(self) -> Text:
        return f"action_{self.key}"

    async def run(self, dispatcher, tracker, domain):
        return send(dispatcher, dialogue.message(context(tracker), self.key, buttons=self.buttons))


class ActionGreet(MessageAction):
    key, buttons = "greet", True


class ActionGoodbye(MessageAction):
    key = "goodbye"


class ActionThank(MessageAction):
    key = "thank"


class ActionBotChallenge(MessageAction):
    key = "bot_challenge"


class ActionOutOfScope(MessageAction):
    key, buttons = "out_of_scope", True


class ActionBooking(MessageAction):
    key = "booking"


class ActionFallback(MessageAction):
    """Asks to rephrase and offers the topics when NLU is unsure."""

    key, buttons = "fallback", True
