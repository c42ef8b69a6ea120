"""The apology a user gets when the assistant cannot answer (the action server down or too slow)."""

from __future__ import annotations

from functools import lru_cache

from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge


@lru_cache(maxsize=1)
def unavailable_text() -> str:
    """knowledge.yml's `unavailable` message with the clinic's contact, then the doctor recommendation."""
    kb = knowledge()
    return kb.messages["unavailable"].format(**clinic().placeholders()) + "\n\n" + kb.doctor_recommendation
