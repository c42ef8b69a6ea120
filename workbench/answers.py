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
import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Optional, Sequence

from actions import dialogue
from footcare_content.clinic import CLINIC_FILE
from footcare_content.knowledge import CONDITIONS, KNOWLEDGE_FILE, knowledge

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
                if topic.details
                else []
            )
            result.append(Variant(topic.id, condition, label, turn.replies, specific, more))
    return result


def _paragraphs(text: str, specific: Optional[str]) -> str:
    """Reply text as HTML: blank lines make paragraphs, "•" lines make lists; the condition paragraph is marked."""
    blocks = []
    specific_norm = " ".join(specific.split()) if specific else None
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        items = [line[1:].strip() for line in lines if line.startswith("•")]
        intro = [line for line in lines if not line.startswith("•")]
        chunk = ""
        if intro:
            chunk += f"<p>{html.escape(' '.join(intro))}</p>"
        if items:
            chunk += "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"
        if specific_norm and " ".join(block.split()) == specific_norm:
            chunk = f"<div class='specific' title='Only for this condition'>{chunk}</div>"
        blocks.append(chunk)
    return "\n".join(blocks)


def _buttons(replies: list[dialogue.Reply]) -> str:
    titles = [b["title"] for r in replies for b in r.buttons]
    if not titles:
        return ""
    return "<p class='buttons'>Buttons: " + " ".join(f"<span>{html.escape(t)}</span>" for t in titles) + "</p>"


_CSS = """
body{font-family:Georgia,"Times New Roman",serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1,h2,h3,nav,.meta,table,.buttons{font-family:system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:1.7rem}h2{font-size:1.35rem;margin-top:3rem;border-bottom:2px solid #333;padding-bottom:.2rem}
h3{font-size:1.05rem;margin:1.8rem 0 .4rem;color:#234}
.reply{border:1px solid #ccd;border-radius:.6rem;padding:.2rem 1rem;background:#fbfcfe}
.specific{border-left:4px solid #3a7bd5;padding-left:.7rem;background:#eef4fc}
.buttons{font-size:.85rem;color:#444}.more{margin-top:.6rem;border-style:dashed}.more h4{margin:.5rem 0 0;font-family:system-ui,sans-serif;font-size:.85rem;color:#555}
.buttons span{border:1px solid #99a;border-radius:1rem;padding:0 .5rem;margin-right:.3rem;white-space:nowrap}
table{border-collapse:collapse;width:100%;font-size:.9rem;margin-top:1rem}th,td{border:1px solid #999;padding:.35rem .5rem;text-align:left}
td.box{width:5.5rem}.meta{color:#555;font-size:.9rem}nav ol{columns:2}
@media print{h2{break-before:page}.reply{break-inside:avoid}nav{display:none}}
"""


def render_html(now: Optional[datetime] = None) -> str:
    kb = knowledge()
    now = now or datetime.now()
    all_variants = variants()
    out = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Assistant answers for sign-off</title><style>{_CSS}</style></head><body>",
        "<h1>The assistant's answers, for sign-off</h1>",
        f"<p class='meta'>Made {now:%Y-%m-%d} by <code>make answers</code> from content/knowledge.yml and "
        f"content/clinic.yml (content version <strong>{fingerprint()}</strong>). {len(all_variants)} answers: "
        f"{len(kb.topics)} topics, each in general and for {len(CONDITIONS)} conditions, each with its details.</p>",
        "<p>Each box is one reply exactly as the user sees it in the chat, including the offer of a next topic, "
        "the closing recommendation to see a doctor and the buttons under it. The first box is the short answer "
        "(at most 70 words before the closing line); the dashed box under it is what the user gets on "
        "&ldquo;Tell me more&rdquo;. A paragraph with a "
        "<span class='specific'>blue edge</span> is shown only when the user has named that condition. "
        "If a user mentions a warning sign, urgent advice comes first and some topics hold back their instructions; "
        "those replies come from the safety checks and are not part of this document. "
        "To change a text, edit content/knowledge.yml and run <code>make answers</code> again.</p>",
        "<nav><h3>Topics</h3><ol>"
        + "".join(f"<li><a href='#{t.id}'>{html.escape(t.title)}</a></li>" for t in kb.topics.values())
        + "<li><a href='#messages'>Other messages</a></li></ol></nav>",
    ]
    for topic in kb.topics.values():
        out.append(f"<h2 id='{topic.id}'>{html.escape(topic.title)}</h2>")
        out.append(f"<p class='meta'>Asked with intent <code>{topic.intent}</code>.</p>")
        mine = [v for v in all_variants if v.topic_id == topic.id]
        for v in mine:
            out.append(
                f"<h3>{html.escape(v.label)}</h3><div class='reply'>{_paragraphs(v.text, v.specific)}{_buttons(v.replies)}</div>"
            )
            if v.more:
                out.append(
                    f"<div class='reply more'><h4>Tell me more</h4>{_paragraphs(v.more_text, None)}{_buttons(v.more)}</div>"
                )
        rows = "".join(
            f"<tr><td>{html.escape(v.label)}</td><td class='box'>&#9744;</td><td class='box'>&#9744;</td><td></td></tr>"
            for v in mine
        )
        out.append(
            "<table><thead><tr><th>Answer</th><th>Approved</th><th>Needs change</th><th>Comment</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><p class='meta'>Checked by (name, role) ____________________ "
            "Date __________ Signature ____________________</p>"
        )
    out.append("<h2 id='messages'>Other messages</h2><p>Replies that are not about a topic, as users see them.</p>")
    for key in APPENDIX_MESSAGES:
        text = _message_text(key)
        out.append(
            f"<h3>{html.escape(key.replace('_', ' ').capitalize())}</h3><div class='reply'>{_paragraphs(text, None)}</div>"
        )
    out.append("</body></html>")
    return "\n".join(out)


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
