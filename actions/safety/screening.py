"""Screening questions: one or two plain questions when a message hints at a warning sign.

content/screening.yml holds the questions, the warning sign each confirms, the
signs that get it, and the typed answers it understands; it is checked on load
against content/safety.yml.  The decision (actions/safety/decision.py) names
the signs a message only hints at (``suspected``); :func:`first_question`
picks what to ask, :func:`read_answer` reads a Yes, No or Not sure (buttons or
typed), and :func:`next_question` the follow-up after a No.

Yes always means the sign is there; "Not sure", a skip or an answer that is
none of these (``other``) counts as Yes: when unsure, the safer level wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from actions.safety.content import LEVELS, checked_entries, checked_sources, checked_text, checked_top, texts
from actions.safety.decision import SafetyCheck, level_of, more_urgent
from actions.safety.memory import Memory
from footcare_content.files import CONTENT_DIR, ContentError, load_yaml

SCREENING_FILE = CONTENT_DIR / "screening.yml"
YES, NO, UNSURE = "yes", "no", "unsure"
#: an answer that is none of the three (a new question, say): counted as "Not sure"
OTHER = "other"
ANSWERS = (UNSURE, YES, NO)  # the order typed answers are read in
#: button payloads (the contract: /affirm, /deny and the project's own)
PAYLOADS = {YES: "/affirm", NO: "/deny", UNSURE: "/not_sure"}
_TOP_KEYS = {"version", "max_questions", "intro", "after_no", "buttons", "answers", "questions"}
_QUESTION_KEYS = {"ask", "sign", "for", "yes_when", "no_when", "sources"}


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    sign: str
    signs: Tuple[str, ...]  # the suspected signs that get it
    yes_when: Tuple[str, ...]
    no_when: Tuple[str, ...]
    sources: Tuple[str, ...]


@dataclass(frozen=True)
class Screening:
    """content/screening.yml, checked."""

    questions: Mapping[str, Question]
    answers: Mapping[str, Tuple[str, ...]]
    buttons: Mapping[str, str]
    intro: str
    after_no: str
    max_questions: int
    source: str = "<memory>"

    def for_sign(self, sign: str) -> Tuple[Question, ...]:
        return tuple(q for q in self.questions.values() if sign in q.signs)


def _phrases(path, value: Any, where: str, required: bool = False) -> Tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, bool)) for v in value):
        raise ContentError(path, where, "must be a non-empty list of lower-case phrases")
    # YAML reads a bare yes / no / y / n as true or false: write them in quotes
    if any(isinstance(v, bool) for v in value):
        raise ContentError(path, where, 'holds true/false: write yes, no, y and n in quotes ("yes")')
    phrases = tuple(" ".join(v.split()) for v in value)
    if any(not p or p != p.lower() for p in phrases):
        raise ContentError(path, where, "must hold non-empty lower-case phrases")
    return phrases


def parse_screening(data: Any, path: Any = "<memory>") -> Screening:
    """Check the parsed YAML of screening.yml against the warning signs of safety.yml."""
    checked_top(path, data, 1, _TOP_KEYS)
    most = data.get("max_questions")
    if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 2:
        raise ContentError(path, "max_questions", "must be 1 or 2")
    buttons = data.get("buttons")
    if not isinstance(buttons, Mapping) or set(buttons) != set(ANSWERS):
        raise ContentError(path, "buttons", "must give a title for yes, no and unsure")
    answers = data.get("answers")
    if not isinstance(answers, Mapping) or set(answers) != set(ANSWERS):
        raise ContentError(path, "answers", "must list phrases for unsure, yes and no")
    signs = texts().red_flags
    questions: Dict[str, Question] = {}
    for where, qid, body in checked_entries(path, data, "questions", _QUESTION_KEYS):
        ask = checked_text(path, body, "ask", f"{where}.ask", ())
        if not ask.endswith("?") or len([s for s in re.split(r"(?<=[.!?])\s+", ask) if s]) != 1:
            raise ContentError(path, f"{where}.ask", "must be one question that ends with '?'")
        if body.get("sign") not in signs:
            raise ContentError(path, f"{where}.sign", f"must be a warning sign of {texts().source}: {', '.join(signs)}")
        wanted = body.get("for")
        if not isinstance(wanted, list) or not wanted or any(s not in signs for s in wanted):
            raise ContentError(path, f"{where}.for", f"must list warning signs of {texts().source}")
        questions[qid] = Question(
            id=qid,
            ask=ask,
            sign=body["sign"],
            signs=tuple(wanted),
            yes_when=_phrases(path, body.get("yes_when"), f"{where}.yes_when"),
            no_when=_phrases(path, body.get("no_when"), f"{where}.no_when"),
            sources=checked_sources(path, body, where),
        )
    return Screening(
        questions=questions,
        answers={key: _phrases(path, answers.get(key), f"answers.{key}", required=True) for key in ANSWERS},
        buttons={key: checked_text(path, buttons, key, f"buttons.{key}", ()) for key in ANSWERS},
        intro=checked_text(path, data, "intro", "intro", ()),
        after_no=checked_text(path, data, "after_no", "after_no", ()),
        max_questions=most,
        source=str(path),
    )


@lru_cache(maxsize=1)
def questions() -> Screening:
    """The checked content of content/screening.yml (read once)."""
    return parse_screening(load_yaml(SCREENING_FILE), SCREENING_FILE)


# ------------------------------------------------------------------ asking


def eligible(result: SafetyCheck, memory: Memory) -> list[Question]:
    """The questions a message may get, in the order to ask them.

    For each sign the message hints at (``suspected``, most urgent first) that is
    more urgent than anything it tells for sure and than the level the
    conversation already holds (a sign already advised on needs no question):
    that sign's questions not asked before in this conversation.
    """
    told = level_of(result.red_flags)
    held = memory.urgency if memory.holds_back else None
    found: list[Question] = []
    for sign in sorted(result.suspected, key=lambda s: LEVELS.index(texts().red_flags[s].level)):
        level = texts().red_flags[sign].level
        if not (more_urgent(level, told) and more_urgent(level, held)) or sign in memory.red_flags:
            continue
        found += [q for q in questions().for_sign(sign) if q.id not in memory.screened and q not in found]
    return found


def first_question(result: SafetyCheck, memory: Memory) -> Optional[Question]:
    """The question to ask about this message, or None (see :func:`eligible`)."""
    found = eligible(result, memory)
    return found[0] if found else None


def next_question(asked: Sequence[str], memory: Memory, result: Optional[SafetyCheck] = None) -> Optional[Question]:
    """After a No to the questions `asked` (this screening, in order), if the screening may ask one
    more: the next one for the same sign; else the first for another sign the message (`result`)
    hints at (No to a sprain's question, then one about the hot, swollen joint it also hints at)."""
    content = questions()
    if not asked or len(asked) >= content.max_questions or asked[0] not in content.questions:
        return None
    first = content.questions[asked[0]]
    for question in content.for_sign(first.signs[0]):
        if question.id not in asked and question.id not in memory.screened:
            return question
    ruled_out = {content.questions[q].sign for q in asked if q in content.questions}
    others = eligible(result, memory) if result is not None else []
    return next((q for q in others if q.id not in asked and q.sign not in ruled_out), None)


def buttons() -> list:
    content = questions()
    return [{"title": content.buttons[key], "payload": PAYLOADS[key]} for key in (YES, NO, UNSURE)]


# ------------------------------------------------------------------ answers

_WORDS = re.compile(r"[a-z0-9']+")


def _normal(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower().replace("’", "'")))


def _has(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w']){re.escape(phrase)}(?![\w'])", text) is not None


def read_answer(text: Any, question: Optional[Question] = None, intent: Optional[str] = None) -> str:
    """Yes, No or Not sure from a button or a typed answer ("nope", "a bit", "i can hobble").

    The question's own phrases are read first, then the payloads and the NLU's
    affirm / deny, then the general phrases (unsure before yes before no, so
    "no idea" is Not sure).  Anything else is ``other`` (counted as Not sure).
    """
    raw = text if isinstance(text, str) else ""
    for key, payload in PAYLOADS.items():
        if raw.strip() == payload:
            return key
    said = _normal(raw)
    if question is not None:
        if any(_has(said, p) for p in map(_normal, question.yes_when)):
            return YES
        if any(_has(said, p) for p in map(_normal, question.no_when)):
            return NO
    content = questions()
    found = {key for key in ANSWERS if any(_has(said, _normal(p)) for p in content.answers[key])}
    if UNSURE in found:
        return UNSURE
    if found == {YES} or (intent == "affirm" and NO not in found):
        return YES
    if found == {NO} or (intent == "deny" and YES not in found):
        return NO
    return UNSURE if found else OTHER
