"""The safety layer: what the NLU found means for the user's safety, and what to say.

One module per job:

- ``content``: content/safety.yml (levels, warning signs, precautions, sources), checked on load;
- ``decision``: the warning signs a message tells or hints at, from the NLU's findings
  (the action server reads no text itself and loads no language model);
- ``memory``: what the conversation told so far (slots red_flags, urgency,
  contraindications, screened);
- ``wording``: the advice, the reminder while a warning holds, the precautions;
- ``screening``: the screening questions of content/screening.yml and their answers.

::

    from actions import safety

    result = safety.check(findings)          # the parse data's ``footcare_safety``
    result.red_flags, result.urgency, result.suspected
    before = safety.Memory.from_slots(red_flags=[...], urgency="soon")
    advice = safety.advise(result, before, clinic().placeholders(), topic="self_massage")

Levels, most urgent first (content/safety.yml words them): ``emergency`` (call
the emergency number now), ``same_day`` (urgent care today), ``soon`` (see a
doctor within days).  While the conversation's highest level holds back
(emergency, same_day), answers that promote massage stay held back and every
reply repeats the advice in one line, until the user says a doctor has checked it.
"""

from actions.safety.content import LEVELS, SafetyContent, load_content, parse_content, preload, texts
from actions.safety.decision import SafetyCheck, check, highest, level_of, merge, more_urgent, told
from actions.safety.memory import Memory, remember
from actions.safety.wording import Advice, advise, precautions, reminder, warning_reply, when_lines

__all__ = [
    "LEVELS",
    "Advice",
    "Memory",
    "SafetyCheck",
    "SafetyContent",
    "advise",
    "check",
    "highest",
    "level_of",
    "load_content",
    "merge",
    "more_urgent",
    "parse_content",
    "precautions",
    "preload",
    "remember",
    "reminder",
    "texts",
    "told",
    "warning_reply",
    "when_lines",
]
