"""REST channel: Rasa's own, for callers on this machine or with a token, with checked input.

POST /webhooks/rest/webhook {"sender": "<id>", "message": "<text>"}
- REST is an internal interface: without REST_TOKEN it answers only loopback
  peers (a request a proxy forwarded, with X-Forwarded-For, is not one); with
  REST_TOKEN set it answers any peer that sends `Authorization: Bearer <token>`
  (compared in constant time), and nothing else: 403 otherwise;
- it is not for browsers: a request a web page sends (an `Origin` other than
  this server's own, or `Sec-Fetch-Site: cross-site` / `same-site`) gets 403,
  and a body that is not `Content-Type: application/json` gets 415, so a page
  on another site (or another port of this machine) cannot post into or
  restart a conversation whose sender id it knows;
- the conversation id is `rest:<sender>`, so a REST caller can never speak for
  a widget visitor or a Telegram chat;
- 413 for a body over MAX_BODY_BYTES (64 KB), before it is read;
- 400 for a body that is not a JSON object, a missing or malformed sender, or a
  message that is not text or is empty (Rasa would read "" as an answer);
- long messages are cut to MAX_MESSAGE_CHARS before the assistant reads them;
  metadata over MAX_METADATA_BYTES is dropped;
- 429 with Retry-After when the client sends too fast (with a valid token the
  client is one sender of the partner's server, and the partner has a larger
  budget for all its senders; see channels.inputs.RateLimits), and when the
  same sender, or the server as a whole, already has too many messages waiting
  (channels.inputs.SenderGate);
- a turn without replies gets the fallback reply (see channels.guard).
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import never_silent
from channels.inputs import (
    MAX_MESSAGE_CHARS,
    RateLimits,
    SenderGate,
    ThrottledWarning,
    clean_text,
    client_address,
    is_loopback,
    limit_request_size,
    notice,
    sender_key,
    small_metadata,
    use_shared_gate,
)

logger = logging.getLogger(__name__)

__all__ = ["MAX_MESSAGE_CHARS", "SENDER_ID", "RestInput", "allowed", "browser_refusal", "clean_text", "parse_body"]

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


def allowed(request: Request, token: Optional[str]) -> bool:
    """Loopback peers without REST_TOKEN; with it, only `Authorization: Bearer <REST_TOKEN>`."""
    if not token:
        return is_loopback(request)
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8")
    )


def browser_refusal(request: Request) -> Optional[tuple[int, str]]:
    """(status, reason) when the request comes from a web page or is not a JSON post, else None."""
    fetch_site = (request.headers.get("Sec-Fetch-Site") or "").strip().lower()
    origin = (request.headers.get("Origin") or "").strip()
    own = {f"{scheme}://{request.host}" for scheme in ("http", "https")}
    if fetch_site in ("cross-site", "same-site") or (origin and origin not in own):
        return 403, "REST does not take requests from web pages"
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return 415, "the body must be sent as Content-Type: application/json"
    return None


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = never_silent(on_new_message)
        limits = RateLimits()
        self.gate = SenderGate()  # the server's shared gate once it starts
        token = (os.environ.get("REST_TOKEN") or "").strip() or None
        refused = ThrottledWarning(logger, "Refused REST calls without a valid token or from another machine.")
        webhook = Blueprint("footcare_rest", __name__)
        limit_request_size(webhook)
        use_shared_gate(webhook, self)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not allowed(request, token):
                refused()
                reason = (
                    "a valid 'Authorization: Bearer' token is required" if token else "REST answers this machine only"
                )
                return response.json({"error": reason}, status=403)
            refusal = browser_refusal(request)
            if refusal:
                return response.json({"error": refusal[1]}, status=refusal[0])
            body, problem = parse_body(request)
            if problem:
                return response.json({"error": problem}, status=400)
            if token:  # a partner's server: each of its senders is a client, within the partner's budget
                wait = limits.retry_after(body["sender"], partner="token")
            else:
                wait = limits.retry_after(client_address(request))
            if wait:
                return response.json({"error": notice("slow_down")}, status=429, headers={"Retry-After": str(wait)})
            collector = CollectingOutputChannel()
            message = UserMessage(
                clean_text(body.get("message") or ""),
                collector,
                sender_key("rest", body["sender"]),
                input_channel=self.name(),
                metadata=small_metadata(body.get("metadata")),
            )
            with self.gate.admit(message.sender_id) as admitted:
                if not admitted:
                    return response.json({"error": notice("busy")}, status=429, headers={"Retry-After": "1"})
                await handle(message)
            return response.json([{**m, "recipient_id": body["sender"]} for m in collector.messages])

        return webhook
