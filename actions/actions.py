"""Thin Rasa action classes over `actions.dialogue`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import dialogue, safety
from actions.safety import screening
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge
from footnlp.topics import FINDINGS_KEY, GREETING_KEY, SUGGESTIONS_KEY, TOPICS_KEY

# Load the content when the action server starts, so that a mistake in
# content/*.yml stops it at once with the file and key, not at the first user.
# (No language model: the safety layer trusts what the NLU put on the message.)
knowledge()
clinic()
safety.preload()

SCREENING_FORM = "screening_form"


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
        screened=tracker.get_slot("screened") or (),
    )


def send(dispatcher: CollectingDispatcher, turn: dialogue.Turn) -> List[Dict[Text, Any]]:
    for reply in turn.replies:
        dispatcher.utter_message(text=reply.text, buttons=reply.buttons or None)
    events: List[Dict[Text, Any]] = [SlotSet(name, value) for name, value in turn.slots.items()]
    if turn.screen:
        # the screening form asks the question (action_ask_screening_answer) and reads the answer
        events.append(ActiveLoop(SCREENING_FORM))
    return events


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
    """Whether the user's message before this one asked a question (in any words: "can massage get
    rid of it?", then "how long till I see results?"), not told a condition ("I have heel spurs",
    after which the same topic is asked for that condition)."""
    said = [e for e in tracker.events if e.get("event") == "user"]
    if len(said) < 2:
        return False
    return (said[-2].get("parse_data") or {}).get("intent", {}).get("name") != "inform_condition"


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
            return send(
                dispatcher,
                dialogue.answer_topics(ctx, several or [dialogue.topic_for_intent(intent, ctx)], greeting=greeting),
            )
        if intent == "inform_condition":
            return send(dispatcher, dialogue.statement(ctx, names_condition(tracker)))
        topic = dialogue.topic_for_intent(intent, ctx)
        meant = dialogue.short_follow_up(ctx, topic)  # "how long does that last?" after the side effects
        topic = meant or topic
        if topic == ctx.last_topic and (meant or asked_again(tracker)) and dialogue.has_details(topic, ctx.condition):
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

    async def run(self, dispatcher, tracker, domain):
        ctx = context(tracker)
        if dialogue.bare_follow_up(ctx):  # "what should we do?" after an answer goes on with it
            return send(dispatcher, dialogue.tell_more(ctx))
        if dialogue.holds_back(ctx):  # "can I still run the race?" after the advice is about the problem
            return send(dispatcher, dialogue.message(ctx, "out_of_scope_while_warning"))
        return await super().run(dispatcher, tracker, domain)


class ActionNotSure(MessageAction):
    """ "Not sure" when no screening question is open: no topic to guess, and the safer choice named."""

    key, buttons = "not_sure", True


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
        if dialogue.bare_follow_up(ctx):
            return send(dispatcher, dialogue.tell_more(ctx))
        if ctx.red_flags and dialogue.is_short(ctx):  # "is that serious?" after a warning sign's advice
            return send(dispatcher, dialogue.message(ctx, "out_of_scope_while_warning", buttons=True))
        suggestions = tracker.latest_message.get(SUGGESTIONS_KEY)
        return send(dispatcher, dialogue.unsure(ctx, suggestions if isinstance(suggestions, list) else []))


class ActionAskScreeningAnswer(Action):
    """The screening form's question: the one in the slot `screening_question`, with Yes / No / Not sure."""

    def name(self) -> Text:
        return "action_ask_screening_answer"

    async def run(self, dispatcher, tracker, domain):
        asked = tracker.get_slot("screening_asked") or []
        return send(
            dispatcher, dialogue.screening_question(tracker.get_slot("screening_question"), first=len(asked) <= 1)
        )


class ValidateScreeningForm(FormValidationAction):
    """Reads the answer (buttons or typed); after a No, the next question for the same sign, if any."""

    def name(self) -> Text:
        return "validate_screening_form"

    def validate_screening_answer(self, value, dispatcher, tracker, domain) -> Dict[Text, Any]:
        content = screening.questions()
        question = content.questions.get(tracker.get_slot("screening_question") or "")
        answer = screening.read_answer(value, question, intent_of(tracker))
        asked = list(tracker.get_slot("screening_asked") or [])
        if answer == screening.NO:
            memory = context(tracker).memory
            pending = tracker.get_slot("screening_pending")
            findings = pending.get("findings") if isinstance(pending, dict) else None
            following = screening.next_question(asked, memory, safety.check(findings) if findings else None)
            if following:
                return {
                    "screening_answer": None,
                    "screening_question": following.id,
                    "screening_asked": [*asked, following.id],
                    "screened": [*(tracker.get_slot("screened") or []), following.id],
                }
        return {"screening_answer": answer}


class ActionScreeningResult(Action):
    """After the screening form: the level's advice (for a Yes or "Not sure"), then the reply held back."""

    def name(self) -> Text:
        return "action_screening_result"

    async def run(self, dispatcher, tracker, domain):
        turn = dialogue.after_screening(
            context(tracker),
            tracker.get_slot("screening_answer"),
            tracker.get_slot("screening_asked") or [],
            tracker.get_slot("screening_pending"),
            new_topic=getattr(knowledge().topic_for_intent(intent_of(tracker)), "id", None),
        )
        done = {
            "screening_answer": None,
            "screening_question": None,
            "screening_asked": None,
            "screening_pending": None,
        }
        return send(dispatcher, turn) + [SlotSet(k, v) for k, v in done.items() if k not in turn.slots]
