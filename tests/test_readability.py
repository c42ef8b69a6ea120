"""Every reply text fits a phone screen and reads at school grade 8 or lower.

Grade: Flesch-Kincaid, as the `textstat` package computes it, over each text
as the user gets it (placeholders filled from content/clinic.yml, in every
region for the safety texts). A line of a list ("•" or "- ") and a line that
ends with ":" count as a sentence of their own, as they read; a web address,
an email address and a phone number count as one short word. The core of each
topic answer (with the clinic's sentences filled in) and each condition's
paragraph has at most 70 words. The tests print the hardest texts, so that a
writer sees where to start.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace

import pytest

from actions import dialogue, safety
from actions.safety.wording import _fill
from footcare_content.clinic import CLINIC_DETAILS, REGIONS, clinic
from footcare_content.knowledge import CORE_WORDS, knowledge

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # textstat 0.7.4 imports pkg_resources
    import textstat

MAX_GRADE = 8.0
WORST = 8  # how many of the hardest texts to print

KB = knowledge()


_CONTACT = re.compile(r"https?://\S+|[^@\s]+@[^@\s]+\.\w+|\+?\d[\d ()-]{5,}\d")


def readable(text: str) -> str:
    """The text with every list line and every line ending in ":" closed as a sentence."""
    lines = []
    for line in _CONTACT.sub("it", text).splitlines():
        line = line.strip()
        if not line:
            continue
        line = re.sub(r"^[•-]\s*", "", line)
        line = re.sub(r":$", ".", line)
        if not re.search(r"[.!?]$", line):
            line += "."
        lines.append(line)
    return "\n".join(lines)


def grade(text: str) -> float:
    return textstat.flesch_kincaid_grade(readable(text))


def words(text: str) -> int:
    return len(text.split())


def fill(text: str, clinic_=None) -> str:
    return dialogue._fill(text, clinic_ or clinic(), topic="side effects", topics="cost", condition="heel spurs")


def with_details(value: str):
    """The shipped clinic with every clinic detail set to `value`."""
    return replace(clinic(), details={key: value for key in CLINIC_DETAILS})


def knowledge_texts() -> dict[str, str]:
    """Every text of content/knowledge.yml as users see it, by key."""
    texts = {"doctor_recommendation": KB.doctor_recommendation}
    set_clinic = with_details("about 45 minutes")
    for topic in KB.topics.values():
        key = f"topics.{topic.id}"
        texts[f"{key}.answer"] = fill(topic.answer)
        texts[f"{key}.answer (clinic details set)"] = fill(topic.answer, set_clinic)
        if topic.details:
            texts[f"{key}.details"] = fill(topic.details)
        for condition, text in topic.by_condition.items():
            texts[f"{key}.by_condition.{condition}"] = fill(text)
    for name, text in KB.messages.items():
        texts[f"messages.{name}"] = fill(text)
    return texts


def safety_texts() -> dict[str, str]:
    """Every safety reply and text, in each region: the advice for each warning sign, the reminders,
    the precautions, and each reason and precaution on its own."""
    content = safety.texts()
    texts = {}
    for region in REGIONS:
        places = replace(clinic(), region=region).placeholders()
        for sign in content.red_flags.values():
            texts[f"{region} red_flags.{sign.id} (the reply)"] = safety.warning_reply([sign.id], places)
            texts[f"{region} red_flags.{sign.id}.reason"] = _fill(sign.reason, places)
        for level in content.levels.values():
            memory = safety.Memory(red_flags=(), urgency=level.id)
            reminder = safety.reminder(memory, places)
            if reminder:
                texts[f"{region} levels.{level.id}.reminder"] = reminder
            if level.closing:
                texts[f"{region} levels.{level.id}.closing"] = _fill(level.closing, places)
            texts[f"{region} levels.{level.id}.care"] = _fill(level.care, places)
    for precaution in content.contraindications.values():
        texts[f"contraindications.{precaution.id} (the reply)"] = safety.precautions([precaution.id])
        texts[f"contraindications.{precaution.id}.precaution"] = precaution.text
    texts["cleared"] = content.cleared
    return texts


def report(title: str, grades: dict[str, float]) -> list[str]:
    worst = sorted(grades, key=grades.get, reverse=True)[:WORST]
    print(f"\n{title}: hardest texts (Flesch-Kincaid grade, at most {MAX_GRADE:g} allowed)")
    for key in worst:
        print(f"  {grades[key]:5.1f}  {key}")
    return [f"{key}: grade {grades[key]:.1f}" for key in grades if grades[key] > MAX_GRADE]


def test_every_answer_and_message_is_grade_8_or_lower():
    hard = report("content/knowledge.yml", {key: grade(text) for key, text in knowledge_texts().items()})
    assert not hard, "write these in shorter sentences and plainer words:\n" + "\n".join(hard)


def test_every_safety_text_is_grade_8_or_lower():
    hard = report("content/safety.yml", {key: grade(text) for key, text in safety_texts().items()})
    assert not hard, "write these in shorter sentences and plainer words:\n" + "\n".join(hard)


@pytest.mark.parametrize("clinic_details", ["not set", "set"])
def test_every_core_answer_fits_a_phone_screen(clinic_details):
    clinic_ = with_details("about 45 minutes, of which about 30 are hands-on") if clinic_details == "set" else clinic()
    counts = {}
    for topic in KB.topics.values():
        counts[f"topics.{topic.id}.answer"] = words(fill(topic.answer, clinic_))
        for condition, text in topic.by_condition.items():
            counts[f"topics.{topic.id}.by_condition.{condition}"] = words(fill(text, clinic_))
    longest = sorted(counts, key=counts.get, reverse=True)[:WORST]
    print(f"\nlongest cores (words, at most {CORE_WORDS}): " + ", ".join(f"{k} {counts[k]}" for k in longest))
    long = {key: n for key, n in counts.items() if n > CORE_WORDS}
    assert not long, f"move the rest to details: {long}"


def test_the_grade_counts_list_lines_as_sentences():
    listed = "Before you go:\n• drink water\n• bring a snack\n• wear shorts"
    assert readable(listed) == "Before you go.\ndrink water.\nbring a snack.\nwear shorts."
    assert grade("Call 112 now.") < grade(
        "Please make sure that you arrange an appointment with an appropriately qualified practitioner immediately."
    )
