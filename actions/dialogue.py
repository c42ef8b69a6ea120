"""What the assistant says in a turn, as plain data; no Rasa types here.

Every reply is assembled by `compose`, the one code path that
- asks a screening question first when the message hints at a warning sign
  it does not settle (actions/safety/screening.py); the reply it would have
  given is kept and sent after the answer, with the advice a Yes calls for,
- puts the safety layer's opening first (actions/safety.advise decides it):
  the advice for a warning sign in this message, or the one-line reminder of
  one told earlier, an acknowledgement when a doctor has checked it, and the
  precautions,
- holds back massage instructions while a warning sign told in the
  conversation says so,
- ends every reply to a health message with the doctor recommendation (a
  message is a health message when the language layer finds a body part,
  symptom, condition, medicine or treatment in it, whatever its intent),
- attaches the next-topic buttons to the last message, and "Tell me more"
  when the topic answered has details.

A topic answer is short (its core, after the condition's paragraph when the
condition is known); "Tell me more" sends the details of the last topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Optional, Sequence, Union

from actions import safety
from actions.safety import screening
from footcare_content.clinic import Clinic, clinic
from footcare_content.knowledge import MENU, Knowledge, knowledge

BOOKING = "booking"
MORE_PAYLOAD = "/ask_more"
#: a message that asks several things gets at most this many answers; the others are offered as buttons
MAX_ANSWERS = 2
#: a reply longer than this (in words, the doctor line included) offers the next topic by its
#: button only, not also in words: replies stay short enough to read on a phone
REPLY_WORDS = 110


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Turn:
    replies: list[Reply]
    slots: dict[str, Any] = field(default_factory=dict)
    #: start the screening form (it asks the question in the slot `screening_question`)
    screen: bool = False

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
    #: the screening questions asked so far in the conversation (slot `screened`)
    screened: Sequence[str] = ()

    @property
    def memory(self) -> safety.Memory:
        """What the conversation has told the safety layer so far (from the slots above)."""
        return safety.Memory.from_slots(self.red_flags, self.urgency, self.contraindications, self.screened)


#: replies that say the message was not understood: after advice on a warning sign the
#: advice is the answer, so they are left out
MINOR_MESSAGES = ("fallback",)


class Section(NamedTuple):
    """One part of a reply's body; `withhold`: held back while a warning sign says so;
    `minor`: a line that only matters when the message names no warning sign (a greeting,
    "Did you mean"), left out when the reply opens with the advice on one."""

    text: str
    withhold: bool = False
    minor: bool = False


def _buttons(kb: Knowledge, topic_ids: Sequence[str], booking: bool = True) -> list[dict[str, str]]:
    buttons = [{"title": kb.topics[t].title, "payload": f"/{kb.topics[t].intent}"} for t in topic_ids]
    if booking:
        buttons.append({"title": "Book / contact", "payload": "/ask_booking"})
    return buttons


def _fill(text: str, clinic_: Clinic, **extra: str) -> str:
    places = clinic_.placeholders()
    return text.format(**places, **knowledge().clinic_lines(clinic_), **safety.when_lines(places), **extra)


def shown(text: str) -> str:
    """A content text as users see it: the clinic's details filled in."""
    return _fill(text, clinic())


def compose(
    ctx: Context,
    body: Union[None, str, Sequence[Section]],
    *,
    health: bool,
    next_topics: Sequence[str] = (),
    withhold_on_red_flag: bool = False,
    extra_slots: Optional[dict[str, Any]] = None,
    show_buttons: bool = True,
    topic: Optional[str] = None,
    offer: bool = True,
    more: bool = False,
) -> Turn:
    """Assembles a turn around `body`; the single place that adds safety text.

    `body`: one text, or several sections (text, held back while a warning
    sign says so) for a message that asks more than one thing.  `health`: the
    reply is a health answer whatever the message says (topic answers); other
    replies point to a doctor when the message's findings make it a health
    message.  `topic`: the topic id being answered, if any.  `offer`: offer
    the first of `next_topics` in words (otherwise they are only buttons).
    """
    kb, clinic_ = knowledge(), clinic()
    places = clinic_.placeholders()
    check = safety.check(ctx.findings)
    before = ctx.memory
    question = screening.first_question(check, before)
    if question:
        pending = _held(
            ctx.findings,
            body,
            health=health,
            next_topics=next_topics,
            withhold_on_red_flag=withhold_on_red_flag,
            extra_slots=extra_slots,
            show_buttons=show_buttons,
            topic=topic,
            offer=offer,
            more=more,
        )
        return Turn(
            replies=[],
            screen=True,
            slots={
                "screening_question": question.id,
                "screening_asked": [question.id],
                "screening_pending": pending,
                "screened": [*before.screened, question.id],
            },
        )
    advice = safety.advise(check, before, places, topic=topic)
    slots: dict[str, Any] = dict(extra_slots or {})
    if advice.memory != before:
        slots.update(advice.memory.slots())
    sections = [Section(body, withhold_on_red_flag)] if isinstance(body, str) else list(body or ())
    # a warning sign's advice comes first, with no greeting line; a precaution after the greeting
    lead = sections[:1] if sections and sections[0].minor and not check.red_flags else []
    parts: list[str] = [_fill(s.text, clinic_) for s in lead if s.text] + list(advice.opening)
    withheld = False
    for section in sections[len(lead) :]:
        if section.minor and check.red_flags:
            continue
        if advice.hold_back and section.withhold:
            if not withheld:
                parts.append(_fill(kb.messages["withheld"], clinic_))
                withheld = True
        elif section.text:
            parts.append(_fill(section.text, clinic_))

    offered = next_topics[0] if offer and next_topics and advice.offer else None
    health = bool(health or advice.health)
    closing = [advice.closing or kb.doctor_recommendation] if health else []
    if offered:
        line = _fill(kb.messages["offer"], clinic_, topic=kb.topics[offered].title.lower())
        if len(" ".join([*parts, line, *closing]).split()) <= REPLY_WORDS:
            parts.append(line)
    slots["offered_topic"] = offered
    parts += closing
    shown = [t for t in next_topics or MENU if not (advice.hold_back and kb.topics[t].withhold_on_red_flag)]
    buttons = _buttons(kb, shown) if show_buttons or health else []
    if more and not (withheld or advice.hold_back and withhold_on_red_flag):
        # after the next topics (the first is the one offered in words), before "Book / contact"
        buttons.insert(max(len(buttons) - 1, 0), {"title": kb.messages["more_button"], "payload": MORE_PAYLOAD})
    return Turn(replies=[Reply(text="\n\n".join(parts), buttons=buttons)], slots=slots)


def answer_topic(ctx: Context, topic_id: str) -> Turn:
    kb = knowledge()
    topic = kb.topics[topic_id]
    return compose(
        ctx,
        kb.answer(topic_id, ctx.condition, ctx.text),
        health=True,
        next_topics=topic.next,
        withhold_on_red_flag=topic.withhold_on_red_flag,
        extra_slots={"topic": topic_id},
        topic=topic_id,
        more=has_details(topic_id, ctx.condition),
    )


def has_details(topic_id: str, condition: Optional[str] = None) -> bool:
    """Whether a topic has more to send after its short answer (for this condition)."""
    return topic_id in knowledge().topics and bool(knowledge().details(topic_id, condition))


def tell_more(ctx: Context) -> Turn:
    """ "Tell me more": the details of the topic last answered."""
    kb = knowledge()
    topic = kb.topics.get(ctx.last_topic or "")
    more = kb.details(topic.id, ctx.condition) if topic else ""
    if not more:
        title = topic.title.lower() if topic else "that"
        return compose(ctx, _fill(kb.messages["no_more"], clinic(), topic=title), health=bool(topic), offer=False)
    return compose(
        ctx,
        more,
        health=True,
        next_topics=topic.next,
        withhold_on_red_flag=topic.withhold_on_red_flag,
        extra_slots={"topic": topic.id},
        topic=topic.id,
    )


def answer_topics(ctx: Context, topic_ids: Sequence[str], *, greeting: bool = False) -> Turn:
    """Several topics asked in one message, answered in the order asked (booking too): the first
    MAX_ANSWERS, and the others named in one line and offered as the first buttons.

    A greeting with the question gets one short line before the answer.
    """
    kb, clinic_ = knowledge(), clinic()
    asked = list(dict.fromkeys(t for t in topic_ids if t in kb.topics or t == BOOKING))
    if not asked:
        return message(ctx, "fallback", buttons=True)
    topic_ids, later = asked[:MAX_ANSWERS], [t for t in asked[MAX_ANSWERS:] if t != BOOKING]
    sections = [Section(_fill(kb.messages["hello_line"], clinic_), minor=True)] if greeting else []
    several = len(topic_ids) > 1
    for topic_id in topic_ids:
        if topic_id == BOOKING:
            sections.append(Section(_fill(kb.messages["booking"], clinic_)))
            continue
        topic = kb.topics[topic_id]
        text = kb.answer(topic_id, ctx.condition, ctx.text)
        sections.append(Section(f"{topic.title}:\n{text}" if several else text, topic.withhold_on_red_flag))
    if later:
        titles = [kb.topics[t].title.lower() for t in later]
        named = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]
        sections.append(Section(_fill(kb.messages["also_asked"], clinic_, topics=named)))
    topics = [t for t in topic_ids if t != BOOKING]
    last = kb.topics[topics[-1]] if topics else None
    precaution_topic = next((t for t in topics if t in safety.texts().precaution_topics), topics[0] if topics else None)
    return compose(
        ctx,
        sections,
        health=bool(topics),
        next_topics=later + [t for t in (last.next if last else ()) if t not in asked],
        extra_slots={"topic": topics[-1]} if topics else None,
        topic=precaution_topic,
        offer=not later,
        more=bool(last) and has_details(last.id, ctx.condition),
    )


def statement(ctx: Context, condition_named: bool) -> Turn:
    """The user tells something ("I have heel spurs", "I'm on warfarin"): one line, remembered.

    A condition named after a topic answer also gets that topic's paragraph for
    the condition ("what about heel spurs?"); named first thing, what the
    condition is.  A health fact gets its precaution (compose adds it).
    """
    kb, clinic_ = knowledge(), clinic()
    if not (condition_named and ctx.condition in kb.condition_names):
        check = safety.check(ctx.findings)
        # a precaution or a doctor's all-clear is the acknowledgement itself
        noted = None if check.contraindications or check.cleared else _fill(kb.messages["noted"], clinic_)
        return compose(ctx, noted, health=True, next_topics=MENU, topic=ctx.last_topic, offer=False)
    line = Section(_fill(kb.messages["noted_condition"], clinic_, condition=kb.condition_names[ctx.condition]))
    if ctx.last_topic in kb.topics:
        topic = kb.topics[ctx.last_topic]
        extra = topic.by_condition.get(ctx.condition)
        body = [line, *([Section(extra, topic.withhold_on_red_flag)] if extra else [])]
    else:
        topic = kb.topics["condition_info"]
        body = [line, Section(kb.answer(topic.id, ctx.condition, ctx.text), topic.withhold_on_red_flag)]
    return compose(
        ctx,
        body,
        health=True,
        next_topics=topic.next,
        extra_slots={"topic": topic.id},
        topic=topic.id,
        more=has_details(topic.id, ctx.condition),
    )


#: a follow-up this short ("and for how long?") is read in the context of the last topic
FOLLOW_UP_WORDS = 6
FOLLOW_UP_CONFIDENCE = 0.25


def is_short(ctx: Context) -> bool:
    """Whether the message is short enough to be a follow-up of the answer before it."""
    return len(ctx.text.split()) <= FOLLOW_UP_WORDS


#: the words of a follow-up that names nothing ("what should we do?", "and what else?")
BARE_FOLLOW_UP = set(
    "what how why should could would can do does did we i you it that this those else then next now so and but "
    "more other anything something there is are to the a about try me us our her his him them ok okay".split()
)


def holds_back(ctx: Context) -> bool:
    """Whether the conversation holds a warning sign that holds massage advice back (emergency, same day)."""
    return ctx.memory.holds_back


def bare_follow_up(ctx: Context) -> bool:
    """Whether the message only asks to go on ("what should we do?") right after a topic's answer:
    read as that topic's details, not as a question about nothing the assistant covers."""
    words = re.findall(r"[a-z]+", ctx.text.lower())
    return bool(ctx.last_topic) and 0 < len(words) <= FOLLOW_UP_WORDS and set(words) <= BARE_FOLLOW_UP


def follow_up_topic(ctx: Context, ranking: Sequence[dict]) -> Optional[str]:
    """The topic a short, unclear follow-up most likely asks, when a topic was just answered."""
    kb = knowledge()
    if not ctx.last_topic or not is_short(ctx):
        return None
    for row in ranking:
        topic = kb.topic_for_intent(row.get("name"))
        if topic and topic.id != "symptoms" and float(row.get("confidence") or 0) >= FOLLOW_UP_CONFIDENCE:
            return topic.id
    return None


def unsure(ctx: Context, suggestions: Sequence[str]) -> Turn:
    """The NLU is unsure: "Did you mean" with the nearest known topics, else the menu."""
    kb = knowledge()
    # while a warning sign holds, the topics held back are no suggestion ("Did you mean" with none)
    holding = holds_back(ctx)
    topics = [t for t in map(kb.topic_for_intent, suggestions) if t and not (holding and t.withhold_on_red_flag)]
    topic_ids = [t.id for t in topics][:3]
    if not topic_ids:
        return message(ctx, "fallback", buttons=True)
    body = [Section(_fill(kb.messages["did_you_mean"], clinic()), minor=True)]
    return compose(ctx, body, health=False, next_topics=topic_ids, offer=False)


#: words by which a short question refers back to the answer before it ("how long does that last?")
REFERS_BACK = {"it", "that", "this", "those", "them", "they", "there"}
#: the most words such a question has ("and how often should I do it?")
REFERS_BACK_WORDS = 8
STARTS_FROM_BEFORE = {"and", "so", "but", "for", "then", "also"}


def short_follow_up(ctx: Context, topic_id: str) -> Optional[str]:
    """The topic a short question that refers back to the last answer asks, when the last topic's
    `short_follow_ups` (content/knowledge.yml) reads `topic_id` so ("how long does that last?"
    after the side effects asks how long they last, not how long a session takes)."""
    last = knowledge().topics.get(ctx.last_topic or "")
    words = re.findall(r"[a-z']+", ctx.text.lower())
    if not last or not words or len(words) > REFERS_BACK_WORDS:
        return None
    if len(words) > 3 and not (REFERS_BACK & set(words) or words[0] in STARTS_FROM_BEFORE):
        return None
    return last.short_follow_ups.get(topic_id)


def topic_for_intent(intent: Optional[str], ctx: Context) -> str:
    """Maps the user's intent to a topic; a bare condition keeps the last topic."""
    kb = knowledge()
    topic = kb.topic_for_intent(intent)
    if topic:
        return topic.id
    if intent == "inform_condition" and ctx.last_topic in kb.topics:
        return ctx.last_topic
    return "condition_info"


#: messages that answer a question about the user's health: they end with the doctor line too
HEALTH_MESSAGES = ("out_of_scope_while_warning",)


def message(ctx: Context, key: str, *, buttons: bool = False) -> Turn:
    """One of knowledge.yml's messages (greeting, thanks, contact...), still checked for warning signs."""
    body = _fill(knowledge().messages[key], clinic())
    return compose(
        ctx, [Section(body, minor=key in MINOR_MESSAGES)], health=key in HEALTH_MESSAGES, show_buttons=buttons
    )


def follow_up(ctx: Context, affirmed: bool) -> Turn:
    """The user said yes or no to the topic the assistant offered."""
    if affirmed and ctx.offered_topic in knowledge().topics:
        return answer_topic(ctx, ctx.offered_topic)
    key = "declined_offer" if ctx.offered_topic else "nothing_offered"
    return message(ctx, key, buttons=True)


def _held(
    findings: Any,
    body: Union[None, str, Sequence[Section]],
    *,
    health: bool,
    next_topics: Sequence[str],
    withhold_on_red_flag: bool,
    extra_slots: Optional[dict[str, Any]],
    show_buttons: bool,
    topic: Optional[str],
    offer: bool,
    more: bool,
) -> dict[str, Any]:
    """A reply held back by a screening question, as the slot `screening_pending` keeps it: the
    findings of the message it answers and compose's arguments (after_screening sends it)."""
    sections = [Section(body, withhold_on_red_flag)] if isinstance(body, str) else list(body or ())
    return {
        "findings": findings,
        "body": [list(s) for s in sections],
        "health": health,
        "next_topics": list(next_topics),
        "withhold_on_red_flag": withhold_on_red_flag,
        "extra_slots": extra_slots,
        "show_buttons": show_buttons,
        "topic": topic,
        "offer": offer,
        "more": more,
    }


def screening_question(question_id: Optional[str], first: bool) -> Turn:
    """The screening question with its Yes / No / Not sure buttons (the intro line before the first)."""
    content = screening.questions()
    question = content.questions.get(question_id or "")
    if question is None:
        return Turn(replies=[])
    text = f"{content.intro}\n\n{question.ask}" if first else question.ask
    return Turn(replies=[Reply(text=text, buttons=screening.buttons())])


def after_screening(
    ctx: Context, answer: Optional[str], asked: Sequence[str], pending: Any, new_topic: Optional[str] = None
) -> Turn:
    """The reply held back by the screening question, after its answer.

    A Yes or "Not sure" to a question adds its warning sign to what the first
    message told (the safer level wins), so the level's advice comes first and
    the held reply follows (or is held back, while the level says so).  After a
    No the held reply comes with a short thank-you.  What the answer itself
    tells ("yes, and now I can't breathe") counts too.  An answer that is a new
    question instead (`new_topic`) counts as "Not sure", and the new question
    is answered in place of the held reply.
    """
    content = screening.questions()
    questions = [content.questions[q] for q in asked if q in content.questions]
    pending = pending if isinstance(pending, dict) else {}
    if answer == screening.OTHER and new_topic in knowledge().topics:
        topic = knowledge().topics[new_topic]
        pending = _held(
            pending.get("findings"),
            knowledge().answer(new_topic, ctx.condition, ctx.text),
            health=True,
            next_topics=topic.next,
            withhold_on_red_flag=topic.withhold_on_red_flag,
            extra_slots={"topic": new_topic},
            show_buttons=True,
            topic=new_topic,
            offer=True,
            more=has_details(new_topic, ctx.condition),
        )
    confirmed = [] if answer == screening.NO or not questions else [questions[-1].sign]
    findings = safety.merge(pending.get("findings"), ctx.findings, *(safety.told(sign) for sign in confirmed))
    sections = [
        Section(row[0], *map(bool, row[1:3]))
        for row in pending.get("body") or []
        if isinstance(row, (list, tuple)) and row and isinstance(row[0], str)
    ]
    if answer == screening.NO:
        sections.insert(0, Section(content.after_no))
    if not sections:
        sections = [Section(_fill(knowledge().messages["noted"], clinic()))]
    resumed = replace(ctx, findings=findings, screened=(*ctx.screened, *asked))
    kb = knowledge()
    return compose(
        resumed,
        sections,
        health=bool(pending.get("health", True)),
        next_topics=[t for t in pending.get("next_topics") or [] if t in kb.topics],
        withhold_on_red_flag=bool(pending.get("withhold_on_red_flag")),
        extra_slots=pending.get("extra_slots") if isinstance(pending.get("extra_slots"), dict) else None,
        show_buttons=bool(pending.get("show_buttons", True)),
        topic=pending.get("topic") if pending.get("topic") in kb.topics else None,
        offer=bool(pending.get("offer", True)),
        more=bool(pending.get("more")),
    )
