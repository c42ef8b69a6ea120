"""REST channel: Rasa's own, with checked input and a reply on every turn.

POST /webhooks/rest/webhook {"sender": "<id>", "message": "<text>"}
- 400 for a body that is not a JSON object, a missing or malformed sender, or a
  message that is not text or is empty (Rasa would read "" as an answer);
- long messages are cut to MAX_MESSAGE_CHARS before the assistant reads them;
- 429 when the same sender already has several messages waiting for an answer;
- a turn without replies gets the fallback reply (see channels.guard).
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import never_silent
from channels.inputs import MAX_MESSAGE_CHARS, SenderGate, clean_text, notice

logger = logging.getLogger(__name__)

__all__ = ["MAX_MESSAGE_CHARS", "SENDER_ID", "RestInput", "clean_text", "parse_body"]

SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@\-]{1,128}$")


def parse_body(request: Request) -> tuple[Optional[dict], Optional[str]]:
    """Returns (body, None) or (None, reason for a 400)."""
    try:
        body = request.json
    except Exception:
        return None, "the body must be JSON"
    if not isinstance(body, dict):
        return None, "the body must be a JSON object"
    sender = body.get("sender")
    if not isinstance(sender, str) or not SENDER_ID.match(sender):
        return None, "'sender' must be 1 to 128 letters, digits or _.:@-"
    if not isinstance(body.get("message", ""), str):
        return None, "'message' must be text"
    if not clean_text(body.get("message") or "").strip():
        return None, "'message' must not be empty"
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return None, "'metadata' must be an object"
    return body, None


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = never_silent(on_new_message)
        gate = SenderGate()
        webhook = Blueprint("footcare_rest", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body, problem = parse_body(request)
            if problem:
                return response.json({"error": problem}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                clean_text(body.get("message") or ""),
                collector,
                body["sender"],
                input_channel=self.name(),
                metadata=body.get("metadata"),
            )
            with gate.admit(message.sender_id) as admitted:
                if not admitted:
                    return response.json({"error": notice("busy")}, status=429)
                await handle(message)
            return response.json(collector.messages)

        return webhook
