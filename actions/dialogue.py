"""What the assistant says in a turn, as plain data; no Rasa types here.

Every reply is assembled by `compose`, the one code path that
- puts urgent medical advice first when the user's message holds a warning sign,
- names the precautions for contraindications the user mentions,
- ends every health answer with the doctor recommendation,
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
    contraindications: Sequence[str] = ()
    #: red flags and contraindications the NLU pipeline found in `text`, if any
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
) -> Turn:
    """Assembles a turn around `body`; the single place that adds safety text."""
    kb, clinic_ = knowledge(), clinic()
    check = safety.check(ctx.text, ctx.findings)
    slots: dict[str, Any] = dict(extra_slots or {})
    parts: list[str] = []

    urgent = safety.urgent_reply(check, clinic_.emergency_number)
    if urgent:
        parts.append(urgent)
        slots["red_flags"] = list(dict.fromkeys([*ctx.red_flags, *check.red_flags]))
    precaution = safety.precaution_reply(check)
    if precaution:
        parts.append(precaution)
        slots["contraindications"] = list(dict.fromkeys([*ctx.contraindications, *check.contraindications]))

    if body:
        if urgent and withhold_on_red_flag:
            parts.append(_fill(kb.messages["withheld"], clinic_))
        else:
            parts.append(body)

    offered = next_topics[0] if next_topics and not urgent else None
    if offered:
        parts.append(_fill(kb.messages["offer"], clinic_, topic=kb.topics[offered].title.lower()))
    slots["offered_topic"] = offered

    health = bool(health or urgent or precaution)
    if health:
        parts.append(kb.doctor_recommendation)
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
