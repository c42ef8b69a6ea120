"""Thin Rasa action classes over `actions.dialogue`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dialogue, safety
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge
from footnlp.findings import FINDINGS_KEY
from footnlp.topics import GREETING_KEY, SUGGESTIONS_KEY, TOPICS_KEY

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


def intent_of(tracker: Tracker) -> Optional[Text]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def asked_topics(tracker: Tracker) -> List[Text]:
    """Topic ids the message asks about, in order (footnlp.intent_classifier), or []."""
    asked = tracker.latest_message.get(TOPICS_KEY)
    if not isinstance(asked, list):
        return []
    kb = knowledge()
    topics = [dialogue.BOOKING if i == "ask_booking" else getattr(kb.topic_for_intent(i), "id", None) for i in asked]
    return [t for t in topics if t]


def asked_again(tracker: Tracker) -> bool:
    """Whether the user's message before this one had the same intent (the same question again)."""
    said = [e for e in tracker.events if e.get("event") == "user"]
    if len(said) < 2:
        return False
    return (said[-2].get("parse_data") or {}).get("intent", {}).get("name") == intent_of(tracker)


def names_condition(tracker: Tracker) -> bool:
    return any(e.get("entity") == "condition" for e in tracker.latest_message.get("entities") or [])


class ActionAnswer(Action):
    """Answers the topic (or topics, in order) a message asks, for the user's condition if known.

    A statement ("I have heel spurs", "I'm diabetic btw") is acknowledged in
    one line and remembered.
    """

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher, tracker, domain):
        ctx, intent = context(tracker), intent_of(tracker)
        greeting = tracker.latest_message.get(GREETING_KEY) is True
        several = asked_topics(tracker)
        if len(several) > 1 or greeting:
            return send(dispatcher, dialogue.answer_topics(ctx, several or [dialogue.topic_for_intent(intent, ctx)], greeting=greeting))
        if intent == "inform_condition":
            return send(dispatcher, dialogue.statement(ctx, names_condition(tracker)))
        topic = dialogue.topic_for_intent(intent, ctx)
        meant = dialogue.short_follow_up(ctx, topic)  # "how long does that last?" after the side effects
        topic = meant or topic
        if topic == ctx.last_topic and (meant or asked_again(tracker)) and dialogue.has_details(topic):
            # the same topic asked again ("is it the same as a normal foot massage?" after what it
            # is): the short answer did not do, so the details, not the same text twice
            return send(dispatcher, dialogue.tell_more(ctx))
        return send(dispatcher, dialogue.answer_topic(ctx, topic))


class ActionTellMore(Action):
    """ "Tell me more": the details of the topic just answered ("tell me more about the cost"
    asks that topic instead)."""

    def name(self) -> Text:
        return "action_tell_more"

    async def run(self, dispatcher, tracker, domain):
        ctx, asked = context(tracker), asked_topics(tracker)
        if asked and asked != [ctx.last_topic]:
            return send(dispatcher, dialogue.answer_topics(ctx, asked))
        return send(dispatcher, dialogue.tell_more(ctx))


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
    key, buttons = "thank", True


class ActionBotChallenge(MessageAction):
    key = "bot_challenge"


class ActionOutOfScope(MessageAction):
    key, buttons = "out_of_scope", True


class ActionBooking(MessageAction):
    key = "booking"

    async def run(self, dispatcher, tracker, domain):
        several = asked_topics(tracker)
        if len(several) > 1:  # "how much is it and what should I wear?"
            return send(dispatcher, dialogue.answer_topics(context(tracker), several))
        return await super().run(dispatcher, tracker, domain)


class ActionFallback(MessageAction):
    """When the NLU is unsure: a short follow-up is read in the context of the
    topic just answered; otherwise "Did you mean" with the nearest known topics."""

    key, buttons = "fallback", True

    async def run(self, dispatcher, tracker, domain):
        ctx = context(tracker)
        topic = dialogue.follow_up_topic(ctx, tracker.latest_message.get("intent_ranking") or [])
        if topic:
            return send(dispatcher, dialogue.answer_topic(ctx, topic))
        suggestions = tracker.latest_message.get(SUGGESTIONS_KEY)
        return send(dispatcher, dialogue.unsure(ctx, suggestions if isinstance(suggestions, list) else []))
