"""Masks contact details that users typed into the chat.

Everything the workbench shows or exports (the review report, the suggested
training examples, the erase tool's search) passes message text through `mask`.
It errs on the side of masking: any run of 7 or more digits (phone numbers,
but also dates of birth or insurance numbers written as digits) is hidden.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+", re.UNICODE)
# A digit, then digits and the separators people put in phone numbers, then a digit.
_DIGIT_RUN = re.compile(r"(?<!\d)\(?\+?\d[\d\s().\-/]*\d(?!\d)")
MIN_DIGITS = 7
EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"


def _mask_digits(match: re.Match) -> str:
    run = match.group(0)
    return PHONE_MASK if sum(ch.isdigit() for ch in run) >= MIN_DIGITS else run


def mask(text: str) -> str:
    """The text with email addresses and phone-like numbers replaced by placeholders."""
    if not text:
        return ""
    return _DIGIT_RUN.sub(_mask_digits, EMAIL.sub(EMAIL_MASK, text))


def quotable(text: str, limit: int = 300) -> str:
    """How the workbench quotes a user's message: masked, on one line, cut at `limit` characters."""
    line = " ".join(mask(text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
