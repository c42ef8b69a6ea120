"""The parts of a message: where it splits, and which parts ask something. Plain Python."""

from __future__ import annotations

import re
from typing import List, Tuple

#: parts read at most (a 10,000-character post must not cost hundreds of encoder calls)
MAX_PARTS = 12

# Where a message splits into parts: sentence ends, and "and/also/plus/oh and"
# or a comma before a new question ("how do I prepare and what are the side
# effects", "my arch has hurt for weeks, can massage fix that?").
_SENTENCES = re.compile(r"(?<=[.?!])\s+|\n+|(?<=[.?!])(?=[A-Za-z])")
_QUESTION_WORDS = (
    r"how|what|whats|what's|will|would|is|are|can|could|do|does|did|should|when|why|where|which|who|any|"
    # and as typed in a hurry: "wat is fasha masage and dose it hurt"
    r"whats|wat|wot|hows|hw|dose|shud|cud|wud|is it|do i|can i"
)
_JOINS = re.compile(
    rf"(?:,?\s+(?:and|also|plus|oh and|and also|but)\s+|,\s*)(?=(?:{_QUESTION_WORDS})\b)", re.IGNORECASE
)
_GREETING_LEAD = re.compile(
    # a greeting, with or without a comma after it ("hi can massage help?")
    r"^\s*(?:(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|greetings)"
    r"(?:\s+(?:there|all|everyone|doc|again))?(?:\s*[,!.:;-]+\s*|\s+)"
    # thanks, ok, yes, no: only with punctuation ("no swelling" is not a greeting)
    r"|(?:thanks|thank you|ok|okay|yes|no)(?:\s+(?:so much|again))?\s*[,!.:;-]+\s*)",
    re.IGNORECASE,
)


def greeting_lead(text: str) -> Tuple[str, str]:
    """("hello", "my arch hurts, can massage help?") for a message that opens with a greeting; else ("", text)."""
    text = (text or "").strip()
    lead = _GREETING_LEAD.match(text)
    if not lead or lead.end() >= len(text):
        return "", text
    return text[: lead.end()].strip(" ,!.:;-"), text[lead.end() :].strip()


def split_parts(text: str) -> List[str]:
    """The parts of a message that may each ask something, in order (at most MAX_PARTS)."""
    lead, text = greeting_lead(text)
    parts: List[str] = [lead] if lead else []
    for sentence in _SENTENCES.split(text):
        for part in _JOINS.split(sentence):
            part = part.strip(" ,;")
            if part:
                parts.append(part)
    if len(parts) > MAX_PARTS:  # keep the opening and the end, where the question usually is
        parts = parts[:2] + parts[-(MAX_PARTS - 2) :]
    return parts


_ASKS = re.compile(
    rf"\?\s*$|^\W*(?:(?:and|so|but|also|ok|okay|oh|well|then)\W+)*(?:{_QUESTION_WORDS}|tell me|explain|any (?:tips|advice))\b",
    re.IGNORECASE,
)


def asks(part: str) -> bool:
    """Whether a part of a message is a question (not a piece of the story)."""
    return bool(_ASKS.search(part))
