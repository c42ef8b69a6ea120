"""A terminal chat that also shows what the assistant understood (`make shell-debug`).

For every message it prints, before the replies: the intent and its confidence
(and the runners-up), the entities found, the red flags and contraindications
detected, the actions that ran and the slots they set. It runs the trained
model in this process (Rasa's Agent) with the same endpoints file as
`make shell`, so the custom actions run on the action server and the
conversation is stored like any other (channel "cmdline").

Type a message and press Enter; a number presses that button of the last reply;
/stop or Ctrl-D ends the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import uuid
from typing import Any, Optional, Sequence, TextIO

STOP = "/stop"


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.enabled else text

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def bot(self, text: str) -> str:
        return self._wrap("34", text)

    def warn(self, text: str) -> str:
        return self._wrap("31;1", text)


def _entities(entities: Sequence[dict[str, Any]]) -> str:
    shown = []
    for e in entities:
        value, said = e.get("value"), e.get("text") or ""
        shown.append(f"{e.get('entity')}={value}" + (f' ("{said}")' if said and said != value else ""))
    return ", ".join(shown) or "none"


def understanding(events: Sequence[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """What the assistant made of the latest user message, from the tracker's events (as dicts)."""
    from workbench.review import sessions
    from workbench.store import Event

    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=None)
    if last_user is None:
        return None
    # The turn as the review reads it: intent, ranking, entities, and the red flags and
    # contraindications this message added to the conversation.
    turn = sessions(Event(i, "", str(e.get("event")), float(e.get("timestamp") or 0), e) for i, e in enumerate(events))[
        -1
    ][-1]
    after = events[last_user + 1 :]

    def detected(entity: str, added: list[str]) -> list[str]:
        # Entities the language layer found, and what the action's safety check added.
        return list(dict.fromkeys([str(e.get("value")) for e in turn.entities if e.get("entity") == entity] + added))

    parse = events[last_user].get("parse_data") or {}
    return {
        "detectors": detectors(parse.get("footcare_safety")),
        "topics": parse.get("footcare_topics") or [],
        "intent": turn.intent,
        "confidence": turn.confidence,
        "ranking": turn.ranking,
        "entities": turn.entities,
        "red_flags": detected("red_flag", turn.new_red_flags),
        "contraindications": detected("contraindication", turn.new_contraindications),
        "actions": [
            (e.get("name"), e.get("policy"), e.get("confidence"))
            for e in after
            if e.get("event") == "action" and e.get("name") not in ("action_listen", None)
        ],
        "slots": {e["name"]: e.get("value") for e in after if e.get("event") == "slot"},
    }


def detectors(findings: Any) -> list[str]:
    """Which detector found each warning sign or contraindication: "calf_clot (lexicon)",
    "sudden_injury (learned 0.97)", "cold_pale_blue_foot (suspected 0.62)"."""
    if not isinstance(findings, dict):
        return []
    found = [f"{i} (lexicon)" for i in [*(findings.get("red_flags") or []), *(findings.get("contraindications") or [])]]
    for key in ("learned", "suspected"):
        scores = findings.get(key) if isinstance(findings.get(key), dict) else {}
        found += [f"{i} ({key} {float(score):.2f})" for i, score in scores.items()]
    return found


def format_understanding(info: dict[str, Any], style: Style) -> list[str]:
    others = [f"{n} {c:.2f}" for n, c in info["ranking"] if n != info["intent"]][:3]
    lines = [
        f"intent: {info['intent']} ({info['confidence']:.2f})" + (f"   next: {', '.join(others)}" if others else "")
    ]
    lines.append(f"entities: {_entities(info['entities'])}")
    flags = ", ".join(info["red_flags"]) or "none"
    contra = ", ".join(info["contraindications"]) or "none"
    lines.append(f"red flags: {flags}   contraindications: {contra}")
    if info.get("detectors"):
        lines.append("found by: " + ", ".join(info["detectors"]))
    if info.get("topics"):
        lines.append("asks, in order: " + ", ".join(info["topics"]))
    acts = ", ".join(
        f"{n} ({p or '?'} {c:.2f})" if isinstance(c, (int, float)) else f"{n} ({p or '?'})"
        for n, p, c in info["actions"]
    )
    lines.append(f"actions: {acts or 'none'}")
    shown = {k: v for k, v in info["slots"].items() if k not in ("red_flags", "contraindications")}
    if shown:
        lines.append("slots: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    out = [style.dim("  ┊ " + line) for line in lines]
    if info["red_flags"]:
        out[2] = style.warn("  ┊ " + lines[2])
    return out


def format_replies(replies: Sequence[dict[str, Any]], style: Style) -> tuple[list[str], list[dict[str, Any]]]:
    out, buttons = [], []
    for reply in replies:
        if reply.get("text"):
            out.append(style.bot(reply["text"]))
        buttons = reply.get("buttons") or buttons
    if buttons:
        out.append(style.dim("  " + "  ".join(f"[{i}] {b.get('title')}" for i, b in enumerate(buttons, start=1))))
    return out, buttons


async def chat(agent, sender_id: str, stdin: TextIO, stdout: TextIO, style: Style) -> int:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    print("Type a message (a number presses a button, /stop ends the chat).", file=stdout, flush=True)
    buttons: list[dict[str, Any]] = []
    turns = 0
    while True:
        print("Your input -> ", end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            print(file=stdout)
            break
        text = line.strip()
        if text == STOP:
            break
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1].get("payload") or text
        collector = CollectingOutputChannel()
        await agent.handle_message(UserMessage(text, collector, sender_id, input_channel="cmdline"))
        tracker = await agent.tracker_store.retrieve(sender_id)
        events = [e.as_dict() for e in tracker.events] if tracker else []
        info = understanding(events)
        if info:
            print("\n".join(format_understanding(info, style)), file=stdout)
        lines, buttons = format_replies(collector.messages, style)
        print(
            "\n".join(lines) if lines else style.warn("(no reply: is the action server running?)"),
            file=stdout,
            flush=True,
        )
        turns += 1
    return turns


async def run(model: str, endpoints: Optional[str], sender_id: str, stdin: TextIO, stdout: TextIO, color: bool) -> int:
    from footcare_server import runtime

    runtime.install()  # the same Rasa as `make shell` (python -m footcare_server shell)
    from rasa.core.agent import load_agent
    from rasa.core.utils import AvailableEndpoints

    available = AvailableEndpoints.read_endpoints(endpoints)
    agent = await load_agent(model_path=model, endpoints=available)
    if not agent.is_ready():
        print(f"Could not load the model {model}", file=sys.stderr)
        return 1
    await chat(agent, sender_id, stdin, stdout, Style(color))
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/footcare.tar.gz")
    parser.add_argument("--endpoints", default="endpoints.yml")
    parser.add_argument("--conversation-id", default=None, help="sender id to use (default: a new random one)")
    parser.add_argument("--no-color", action="store_true")
    args = parser.parse_args(argv)
    from workbench.cli import quiet

    quiet()  # library deprecation warnings would bury the chat
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "WARNING"))
    configure_logging_and_warnings(level)
    configure_structlog(level)
    color = sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ
    sender = args.conversation_id or uuid.uuid4().hex
    return asyncio.run(run(args.model, args.endpoints, sender, sys.stdin, sys.stdout, color))


if __name__ == "__main__":
    sys.exit(main())
