"""How long the first reply to a calm question is, on the real question sets.

Each message of the real sets that is labelled with a topic and in which the
NLU finds no warning sign, hinted sign or precaution (those replies lead with
the safety advice) is sent as a new conversation's first message; the first
reply is everything the assistant says to it, the doctor line included, in
words as shown.  At least nine in ten of these replies must be 110 words or
fewer.  The figures are printed per set.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from actions.dialogue import shown
from footcare_content.knowledge import knowledge

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent
SETS = ("tests/nlu_real.yml", "tests/nlu_real_blind.yml", "tests/nlu_real_blind2.yml")
MOST_WORDS = 110
SHARE = 0.9


def calm_questions(path: Path, stack) -> list[str]:
    """The set's messages labelled with a topic in which the NLU finds nothing for the safety layer."""
    from rasa.shared.nlu.training_data.loading import load_data

    topics = {topic.intent for topic in knowledge().topics.values()}
    out = []
    for example in load_data(str(path)).intent_examples:
        if example.get("intent") not in topics:
            continue
        found = stack.parse(example.get("text")).get("footcare_safety") or {}
        if any(found.get(key) for key in ("red_flags", "contraindications", "learned", "suspected", "gated")):
            continue
        out.append(example.get("text"))
    return out


def words(replies: list[dict]) -> int:
    return sum(len(shown(r.get("text") or "").split()) for r in replies)


@pytest.mark.parametrize("name", SETS)
def test_the_first_reply_to_a_calm_question_stays_short(stack, name):
    counts = sorted(
        words(stack.say(f"length-{uuid.uuid4().hex[:12]}", text)) for text in calm_questions(ROOT / name, stack)
    )
    assert counts, f"{name}: no calm question to measure"
    short = sum(c <= MOST_WORDS for c in counts) / len(counts)
    p90 = counts[min(len(counts) - 1, int(0.9 * len(counts)))]
    print(
        f"\n{name}: first reply to {len(counts)} calm questions: median {counts[len(counts) // 2]} words, "
        f"90th percentile {p90}, longest {counts[-1]}; {100 * short:.1f}% within {MOST_WORDS} words"
    )
    assert short >= SHARE, f"{name}: only {100 * short:.1f}% of first replies within {MOST_WORDS} words"
