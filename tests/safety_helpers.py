"""The safety decision on a text as the NLU's lexicon reads it (no Rasa model needed)."""

from __future__ import annotations

from functools import lru_cache

from actions import safety
from footnlp.findings import safety_findings


@lru_cache(maxsize=1)
def _pipeline():
    from footnlp.pipeline import load_pipeline

    return load_pipeline()


def lexicon_findings(text: str) -> dict:
    """What FootcareEntityExtractor puts on a message with this text (the lexicon's findings)."""
    return safety_findings(_pipeline()(text))


def read(text: str) -> safety.SafetyCheck:
    """The safety decision on the lexicon's findings of `text`."""
    return safety.check(lexicon_findings(text))
