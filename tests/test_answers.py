"""`make answers`: every answer of the knowledge file, as users see it, in one document to sign off."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from actions.dialogue import shown
from footcare_content.knowledge import CONDITIONS, knowledge
from workbench import answers

ROOT = Path(__file__).resolve().parent.parent
KB = knowledge()


def as_shown(text: str) -> str:
    """Text the way the document shows it: placeholders filled, bullets as list items, whitespace collapsed."""
    return " ".join(shown(text).split())


@pytest.fixture(scope="module")
def page() -> str:
    return answers.render_html()


@pytest.fixture(scope="module")
def plain(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_every_topic_and_condition_is_rendered_once_ending_with_the_doctor_recommendation():
    variants = answers.variants()
    assert len(variants) == len(KB.topics) * (1 + len(CONDITIONS))
    assert {(v.topic_id, v.condition) for v in variants} == {(t, c) for t in KB.topics for c in (None, *CONDITIONS)}
    for v in variants:
        topic = KB.topics[v.topic_id]
        assert v.text.endswith(KB.doctor_recommendation), (v.topic_id, v.condition)
        if v.condition and v.specific and topic.condition_replaces_answer:
            assert v.specific in v.text and shown(topic.answer) not in v.text
            continue
        assert shown(topic.answer) in v.text
        if v.condition and v.specific:
            assert v.specific in v.text and v.text.index(v.specific) < v.text.index(shown(topic.answer))
        # what "Tell me more" adds: the details, again with the doctor recommendation
        assert bool(v.more) == bool(topic.details)
        if topic.details:
            assert shown(topic.details) in v.more_text and v.more_text.endswith(KB.doctor_recommendation)
            assert shown(topic.answer) not in v.more_text


def test_document_shows_every_answer_text_and_the_doctor_recommendation(page, plain):
    # The general answers, the condition paragraphs and the closing line, each as readable text.
    for topic in KB.topics.values():
        for text in (topic.answer, topic.details):
            for paragraph in shown(text).split("\n\n"):
                for line in paragraph.splitlines():
                    assert as_shown(line.lstrip("• ")) in plain, line
        for text in topic.by_condition.values():
            assert as_shown(text) in plain
    assert plain.count(as_shown(KB.doctor_recommendation)) >= len(answers.variants())
    # Headings and sign-off rows for each topic and condition.
    for topic in KB.topics.values():
        assert f'id="{topic.id}"' in page
    for name in KB.condition_names.values():
        assert f"For {html.escape(name)}" in page
    assert page.count("Approved") == len(KB.topics)
    assert answers.fingerprint() in page
    # Condition paragraphs are marked as such.
    assert page.count('<div class="specific"') == sum(len(t.by_condition) for t in KB.topics.values())
    # and each answer's details, under "Tell me more"
    assert page.count("<h4>Tell me more</h4>") == sum(1 + len(CONDITIONS) for t in KB.topics.values() if t.details)


def test_other_messages_are_in_the_appendix(plain):
    for key in ("greet", "fallback", "booking"):
        first_line = KB.messages[key].split("{")[0].strip().splitlines()[0]
        assert as_shown(first_line) in plain


def test_answers_command_writes_the_document(tmp_path):
    out = tmp_path / "answers.html"
    result = subprocess.run(
        [sys.executable, "-m", "workbench", "answers", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(answers.variants())} answers" in result.stdout
    assert out.read_text().startswith("<!doctype html>")
