"""The wording of safety: the advice for warning signs, the reminder while one holds, the precautions.

:func:`advise` decides everything the safety layer adds to one reply, given
what the message told (actions/safety/decision.py) and what the conversation
told before (actions/safety/memory.py).  Every text comes from
content/safety.yml, with the clinic's region filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from actions.safety.content import LEVELS, PLACEHOLDERS, texts
from actions.safety.decision import SafetyCheck
from actions.safety.memory import Memory, remember


def _fill(template: str, places: Mapping[str, str], **extra: str) -> str:
    values = {name: "" for name in PLACEHOLDERS}
    values.update({k: v for k, v in places.items() if isinstance(v, str)})
    values.update(extra)
    return template.format(**values)


def when_lines(places: Mapping[str, str]) -> Dict[str, str]:
    """{"when_<sign>": how soon to get it checked}, from the sign's level (for content/knowledge.yml)."""
    content = texts()
    return {f"when_{sid}": _fill(content.levels[sign.level].when, places) for sid, sign in content.red_flags.items()}


def _names(ids: Sequence[str]) -> str:
    names = [texts().red_flags[i].name for i in ids if i in texts().red_flags]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _by_urgency(ids: Iterable[str]) -> List[str]:
    signs = texts().red_flags
    known = [i for i in dict.fromkeys(ids) if i in signs]
    return sorted(known, key=lambda i: LEVELS.index(signs[i].level))


def warning_reply(red_flags: Sequence[str], places: Mapping[str, str]) -> Optional[str]:
    """The advice for these warning signs, or None: one action sentence for the
    most urgent level, then the reason for each sign (most urgent first), then
    what to do meanwhile and the clinic's phone."""
    ordered = _by_urgency(red_flags)
    if not ordered:
        return None
    content = texts()
    level = content.levels[content.red_flags[ordered[0]].level]
    lines = [_fill(level.action, places), ""]
    lines += [f"- {_fill(content.red_flags[i].reason, places)}" for i in ordered]
    lines += ["", _fill(level.care, places), _fill(content.clinic_line, places)]
    return "\n".join(lines)


def reminder(memory: Memory, places: Mapping[str, str]) -> Optional[str]:
    """The one-line reminder of the advice while the conversation's level holds back, else None."""
    if not memory.holds_back:
        return None
    level = texts().levels[memory.urgency]
    holding = [i for i in _by_urgency(memory.red_flags) if texts().red_flags[i].level == memory.urgency]
    return _fill(level.reminder, places, what=_names(holding) or "what you described")


def precautions(ids: Sequence[str], new: bool = True) -> Optional[str]:
    """One or two lines for each precaution, or None.

    ``new``: the user has just told about one (ask them to check with their
    doctor, and to tell the therapist); otherwise a shorter reminder.
    """
    content = texts()
    known = [c for c in dict.fromkeys(ids) if c in content.contraindications]
    if not known:
        return None
    lines = [(content.precaution_intro if new else content.precaution_reminder).format()]
    lines += [f"- {content.contraindications[c].text.format()}" for c in known]
    if new:
        lines.append(content.precaution_outro.format())
    return "\n".join(lines)


@dataclass(frozen=True)
class Advice:
    """What the safety layer adds to one reply."""

    memory: Memory  # to store
    opening: List[str]  # paragraphs that start the reply, in order
    hold_back: bool  # hold back massage instructions
    closing: Optional[str]  # the reply's closing line instead of the usual one, if any
    health: bool  # the reply must point to a doctor
    cleared: bool  # a remembered warning was cleared by this message
    offer: bool  # the reply may offer a next topic (not with a warning sign now, nor while held back)


def advise(result: SafetyCheck, before: Memory, places: Mapping[str, str], topic: Optional[str] = None) -> Advice:
    """Everything the safety layer says in a reply to ``result``, given what the
    conversation told before (``before``) and the reply's ``topic`` (a topic
    id of content/knowledge.yml, or None for other messages)."""
    content = texts()
    memory = remember(before, result)
    cleared = result.cleared and bool(before.red_flags or before.urgency)
    opening: List[str] = []
    if cleared:
        opening.append(_fill(content.cleared, places))
    warning = warning_reply(result.red_flags, places)
    if warning:
        opening.append(warning)
    if memory.holds_back and (not warning or LEVELS.index(memory.urgency) < LEVELS.index(result.urgency)):
        opening.append(reminder(memory, places))  # remembered, or more urgent than what is new
    new = [c for c in result.contraindications if c not in before.contraindications]
    said = {c for c, p in content.contraindications.items() if topic is not None and p.answered_by == topic}
    if topic in content.precaution_topics and memory.contraindications:
        text = precautions([c for c in memory.contraindications if c not in said], new=bool(new))
    else:
        text = precautions([c for c in result.contraindications if c not in said], new=True)
    if text:
        opening.append(text)
    emergency = content.levels["emergency"]
    return Advice(
        memory=memory,
        opening=opening,
        hold_back=memory.holds_back,
        closing=emergency.closing or None if memory.urgency == "emergency" else None,
        health=result.health or bool(opening),
        cleared=cleared,
        offer=not memory.holds_back and not result.red_flags,
    )
