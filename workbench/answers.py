"""Every answer of content/knowledge.yml in one document for therapists to read and sign off.

Each topic is shown once in general and once for each condition, exactly as a
user sees it: composed by `actions.dialogue.answer_topic` (the code path the
action server uses), with the "next topic" offer, the doctor recommendation at
the end and the buttons; then what "Tell me more" adds (`actions.dialogue.tell_more`). The paragraph that is specific to a condition is
marked, and each topic ends with a sign-off table. The document names the
SHA-256 of the content files it was made from, so a signed printout can be
matched to what is deployed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from actions import dialogue
from footcare_content.clinic import CLINIC_FILE
from footcare_content.knowledge import CONDITIONS, KNOWLEDGE_FILE, knowledge
from workbench.templates import render

# Messages that are not answers to a topic but that users see, shown in an appendix.
APPENDIX_MESSAGES = (
    "greet",
    "fallback",
    "out_of_scope",
    "booking",
    "bot_challenge",
    "thank",
    "goodbye",
    "withheld",
    "no_more",
    "unavailable",
)


@dataclass
class Variant:
    topic_id: str
    condition: Optional[str]
    label: str
    replies: list[dialogue.Reply]
    specific: Optional[str]  # the condition's own paragraph, if it has one
    #: the reply to "Tell me more" after this answer (empty when the topic has no details)
    more: list[dialogue.Reply]

    @property
    def text(self) -> str:
        return dialogue.Turn(self.replies).text

    @property
    def more_text(self) -> str:
        return dialogue.Turn(self.more).text


def fingerprint(paths: Sequence[Path] = (KNOWLEDGE_FILE, CLINIC_FILE)) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def variants() -> list[Variant]:
    """Every (topic, condition) answer as the user sees it, general answer first."""
    kb = knowledge()
    result = []
    for topic in kb.topics.values():
        for condition in (None, *CONDITIONS):
            turn = dialogue.answer_topic(dialogue.Context(condition=condition), topic.id)
            label = "In general (no condition named)" if condition is None else f"For {kb.condition_names[condition]}"
            specific = dialogue.shown(topic.by_condition[condition]) if condition in topic.by_condition else None
            more = (
                dialogue.tell_more(dialogue.Context(condition=condition, last_topic=topic.id)).replies
                if dialogue.has_details(topic.id, condition)
                else []
            )
            result.append(Variant(topic.id, condition, label, turn.replies, specific, more))
    return result


def _blocks(text: str, specific: Optional[str]) -> list[dict]:
    """Reply text as blocks for the template: blank lines make paragraphs, "•" lines make lists, and
    the condition's own paragraph is marked."""
    blocks = []
    specific_norm = " ".join(specific.split()) if specific else None
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines:
            blocks.append(
                {
                    "intro": " ".join(line for line in lines if not line.startswith("•")),
                    "bullets": [line[1:].strip() for line in lines if line.startswith("•")],
                    "specific": bool(specific_norm and " ".join(block.split()) == specific_norm),
                }
            )
    return blocks


def _titles(replies: list[dialogue.Reply]) -> list[str]:
    return [b["title"] for r in replies for b in r.buttons]


def render_html(now: Optional[datetime] = None) -> str:
    kb = knowledge()
    all_variants = variants()
    topics = [
        {
            "id": topic.id,
            "title": topic.title,
            "intent": topic.intent,
            "variants": [
                {
                    "label": v.label,
                    "blocks": _blocks(v.text, v.specific),
                    "buttons": _titles(v.replies),
                    "more_blocks": _blocks(v.more_text, None) if v.more else [],
                    "more_buttons": _titles(v.more),
                }
                for v in all_variants
                if v.topic_id == topic.id
            ],
        }
        for topic in kb.topics.values()
    ]
    messages = [
        {"title": key.replace("_", " ").capitalize(), "blocks": _blocks(_message_text(key), None)}
        for key in APPENDIX_MESSAGES
    ]
    return render(
        "answers.html.j2",
        made=f"{now or datetime.now():%Y-%m-%d}",
        fingerprint=fingerprint(),
        answers=len(all_variants),
        topics=topics,
        conditions=len(CONDITIONS),
        messages=messages,
    )


def _message_text(key: str) -> str:
    if key == "unavailable":  # what channels/guard.py sends when the action server gives no reply
        from footcare_content.apology import unavailable_text

        return unavailable_text()
    if key == "withheld":  # the part of a withheld answer that replaces the instructions
        from footcare_content.clinic import clinic

        return dialogue._fill(knowledge().messages[key], clinic())
    if key == "no_more":  # "Tell me more" with no topic answered yet
        return dialogue.tell_more(dialogue.Context()).text
    return dialogue.message(dialogue.Context(), key).text


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(), encoding="utf-8")
    return path
