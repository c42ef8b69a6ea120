"""What the assistant says in a turn, as plain data; no Rasa types here.

Every reply is assembled by `compose`, the one code path that
- puts the safety layer's opening first (actions/safety.advise decides it):
  the advice for a warning sign in this message, or the one-line reminder of
  one told earlier, an acknowledgement when a doctor has checked it, and the
  precautions,
- holds back massage instructions while a warning sign told in the
  conversation says so,
- ends every reply to a health message with the doctor recommendation (a
  message is a health message when the language layer finds a body part,
  symptom, condition, medicine or treatment in it, whatever its intent),
- attaches the next-topic buttons to the last message.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from actions import safety
from actions.clinic import Clinic, clinic
from actions.knowledge import Knowledge, knowledge

# Topics shown as buttons when the user has not picked one yet.
MENU = ("what_is_fascia_massage", "preparation", "procedure", "side_effects", "self_massage", "safety")


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Turn:
    replies: list[Reply]
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n\n".join(r.text for r in self.replies)


@dataclass(frozen=True)
class Context:
    """What the actions know about the conversation."""

    text: str = ""
    condition: Optional[str] = None
    last_topic: Optional[str] = None
    offered_topic: Optional[str] = None
    red_flags: Sequence[str] = ()
    #: the highest triage level so far (slot `urgency`)
    urgency: Optional[str] = None
    contraindications: Sequence[str] = ()
    #: what the NLU pipeline's safety check found in `text`, if any (parse data `footcare_safety`)
    findings: Any = None


def _buttons(kb: Knowledge, topic_ids: Sequence[str], booking: bool = True) -> list[dict[str, str]]:
    buttons = [{"title": kb.topics[t].title, "payload": f"/{kb.topics[t].intent}"} for t in topic_ids]
    if booking:
        buttons.append({"title": "Book / contact", "payload": "/ask_booking"})
    return buttons


def _fill(text: str, clinic_: Clinic, **extra: str) -> str:
    return text.format(**clinic_.placeholders(), **extra)


def compose(
    ctx: Context,
    body: Optional[str],
    *,
    health: bool,
    next_topics: Sequence[str] = (),
    withhold_on_red_flag: bool = False,
    extra_slots: Optional[dict[str, Any]] = None,
    show_buttons: bool = True,
    topic: Optional[str] = None,
) -> Turn:
    """Assembles a turn around `body`; the single place that adds safety text.

    `health`: the reply is a health answer whatever the message says (topic
    answers); other replies point to a doctor when the message's findings make
    it a health message.  `topic`: the topic id being answered, if any.
    """
    kb, clinic_ = knowledge(), clinic()
    places = clinic_.placeholders()
    check = safety.check(ctx.text, ctx.findings)
    before = safety.Memory.from_slots(ctx.red_flags, ctx.urgency, ctx.contraindications)
    advice = safety.advise(check, before, places, topic=topic)
    slots: dict[str, Any] = dict(extra_slots or {})
    if advice.memory != before:
        slots.update(advice.memory.slots())
    parts: list[str] = list(advice.opening)

    if body:
        parts.append(_fill(kb.messages["withheld"], clinic_) if advice.hold_back and withhold_on_red_flag else body)

    offered = next_topics[0] if next_topics and not advice.hold_back and not check.red_flags else None
    if offered:
        parts.append(_fill(kb.messages["offer"], clinic_, topic=kb.topics[offered].title.lower()))
    slots["offered_topic"] = offered

    health = bool(health or advice.health)
    if health:
        parts.append(advice.closing or kb.doctor_recommendation)
    buttons = _buttons(kb, next_topics or MENU) if show_buttons or health else []
    return Turn(replies=[Reply(text="\n\n".join(parts), buttons=buttons)], slots=slots)


def answer_topic(ctx: Context, topic_id: str) -> Turn:
    kb = knowledge()
    topic = kb.topics[topic_id]
    return compose(
        ctx,
        kb.answer(topic_id, ctx.condition),
        health=True,
        next_topics=topic.next,
        withhold_on_red_flag=topic.withhold_on_red_flag,
        extra_slots={"topic": topic_id},
        topic=topic_id,
    )


def topic_for_intent(intent: Optional[str], ctx: Context) -> str:
    """Maps the user's intent to a topic; a bare condition keeps the last topic."""
    kb = knowledge()
    topic = kb.topic_for_intent(intent)
    if topic:
        return topic.id
    if intent == "inform_condition" and ctx.last_topic in kb.topics:
        return ctx.last_topic
    return "condition_info"


def message(ctx: Context, key: str, *, buttons: bool = False) -> Turn:
    """A non-health reply (greeting, thanks, contact...), still checked for warning signs."""
    body = _fill(knowledge().messages[key], clinic())
    return compose(ctx, body, health=False, show_buttons=buttons)


def follow_up(ctx: Context, affirmed: bool) -> Turn:
    """The user said yes or no to the topic the assistant offered."""
    if affirmed and ctx.offered_topic in knowledge().topics:
        return answer_topic(ctx, ctx.offered_topic)
    key = "declined_offer" if ctx.offered_topic else "nothing_offered"
    return message(ctx, key, buttons=True)
