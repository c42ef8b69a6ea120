"""Socket.IO channel for the website widget (rasa-webchat): Rasa's own, hardened.

Differences from Rasa's SocketIOInput:
- only pages from the configured website origins may connect (WIDGET_ORIGINS,
  space or comma separated; by default the demo page's http://localhost:8080
  and http://127.0.0.1:8080). Rasa's own accepts a socket from any site (CORS
  does not cover WebSockets). The CORS headers of the socket's HTTP requests
  come from `rasa run --cors`, which scripts/run.sh sets to the same origins;
- a socket only speaks for the session the server issued to it: the session id
  is `<id>.<signature>`, the signature an HMAC of the id with a server secret
  (WIDGET_SESSION_SECRET, else a file made once; see `session_secret`), so a
  session id the widget brings back from an earlier visit is kept only when
  this server (or a replica with the same secret) issued it, otherwise the
  socket gets a new one. The conversation id is `web:<id>`;
- a socket that asks for a second session leaves the room of the first;
- a message sent before the session is confirmed gets a short notice;
- messages that are not text, empty messages, floods from one session and
  messages over the per-client or global rate limits (channels.inputs) get a
  short notice instead of reaching the assistant; long messages are cut,
  metadata over MAX_METADATA_BYTES is dropped, and a socket.io packet over
  MAX_BODY_BYTES is refused (413 over polling; a websocket is closed);
- Markdown links in replies whose target is not http(s), mailto or tel lose
  their target (the widget renders replies as Markdown with live links);
- a turn without replies gets the fallback reply (see channels.guard);
- with session persistence, the socket really joins its session's room (Rasa
  3.6's own channel does not await python-socketio 5's enter_room, so the
  widget never gets its replies);
- a reply's lines inside a paragraph stay on their own lines in the widget
  (paragraphs become separate bubbles, as in Rasa's own channel).

Nothing here logs message text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import uuid
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Text, Union

from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels.guard import never_silent
from channels.inputs import (
    RateLimits,
    SenderGate,
    clean_text,
    client_address,
    limit_request_size,
    max_body_bytes,
    notice,
    raw_sender,
    sender_key,
    small_metadata,
    use_shared_gate,
)
from footcare_content.apology import unavailable_text

logger = logging.getLogger(__name__)

DEFAULT_WIDGET_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")
SESSION_ID = re.compile(r"^([0-9a-f]{32})\.([0-9a-f]{32})$")
DEFAULT_SECRET_FILE = Path.home() / ".config" / "footcare" / "widget-session-secret"
MIN_SECRET_CHARS = 32
# Markdown links whose target is a scheme other than http(s), mailto or tel: inline links
# (the label may hold one level of brackets), autolinks and reference definitions.
_SAFE_TARGET = r"(?!\s*<?\s*(?:https?:|mailto:|tel:))"
UNSAFE_LINK = re.compile(
    r"\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(" + _SAFE_TARGET + r"(?:[^()]|\([^()]*\))*\)"
    r"|<(?!https?:|mailto:)[A-Za-z][\w+.-]*:[^>\s]*>"
    r"|^ {0,3}\[[^\]]+\]:" + _SAFE_TARGET + r".*$",
    re.IGNORECASE | re.MULTILINE,
)


def widget_origins(configured: Union[None, str, Sequence[str]] = None) -> Union[str, List[str]]:
    """The origins allowed to open a socket: credentials, else WIDGET_ORIGINS, else the demo page's."""
    value = configured if configured is not None else os.environ.get("WIDGET_ORIGINS", "")
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    items = [item.rstrip("/") for item in items if item]
    if "*" in items:
        return "*"
    return items or list(DEFAULT_WIDGET_ORIGINS)


def session_secret(env: Mapping[str, str] = os.environ) -> bytes:
    """WIDGET_SESSION_SECRET (at least 32 characters; the same on every replica), else the secret in
    WIDGET_SESSION_SECRET_FILE (default ~/.config/footcare/widget-session-secret), made once (0600)."""
    value = (env.get("WIDGET_SESSION_SECRET") or "").strip()
    if value:
        if len(value) < MIN_SECRET_CHARS:
            raise ValueError(f"WIDGET_SESSION_SECRET must have at least {MIN_SECRET_CHARS} characters")
        return value.encode("utf-8")
    path = Path(env.get("WIDGET_SESSION_SECRET_FILE") or DEFAULT_SECRET_FILE)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Written whole under another name, then linked: of two processes starting at once, one
        # puts its secret in place and both read that one; nobody reads a half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"{path}: the widget session secret must have at least {MIN_SECRET_CHARS} characters")
    return secret.encode("utf-8")


class SessionSigner:
    """Issues session ids `<32 hex>.<32 hex HMAC-SHA256 of the id>` and checks them."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, session: str) -> str:
        return hmac.new(self._secret, session.encode("ascii"), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        session = uuid.uuid4().hex
        return f"{session}.{self._signature(session)}"

    def verify(self, token: Any) -> Optional[str]:
        """The id of a session token this server issued, else None."""
        match = SESSION_ID.match(token) if isinstance(token, str) else None
        if not match or not hmac.compare_digest(match.group(2), self._signature(match.group(1))):
            return None
        return match.group(1)


def markdown_lines(text: str) -> str:
    """Keeps single line breaks (lists such as the clinic's contacts) as breaks in the widget's Markdown."""
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", text)


def safe_links(text: str) -> str:
    """Markdown links to javascript:, data: and other such targets become their text only."""
    return UNSAFE_LINK.sub(lambda m: m.group(1) if m.group(1) is not None else "", text)


def widget_text(text: Any) -> Any:
    return markdown_lines(safe_links(text)) if isinstance(text, str) else text


class SocketIOOutput(RasaSocketIOOutput):
    """Rasa's output; a reply to `web:<id>` goes to the room `<id>` the widget's socket joined."""

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        await super()._send_message(raw_sender(socket_id), response)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await super().send_text_message(recipient_id, widget_text(text), **kwargs)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await super().send_text_with_buttons(recipient_id, widget_text(text), buttons, **kwargs)


class SocketIOInput(RasaSocketIOInput):
    """The widget's channel; credentials.yml may also name `cors_allowed_origins`."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        channel.allowed_origins = widget_origins((credentials or {}).get("cors_allowed_origins"))
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins: Union[str, List[str]] = widget_origins()
        self.gate = SenderGate()
        self.limits = RateLimits()
        self.signer = SessionSigner(session_secret())

    def get_output_channel(self) -> Optional[SocketIOOutput]:  # type: ignore[override]
        if self.sio is None:
            return super().get_output_channel()  # warns, returns None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = never_silent(on_new_message)
        # CORS headers come from the Sanic app (`rasa run --cors`, see scripts/run.sh); engine.io
        # adding its own as well would send the header twice and browsers refuse that.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=max_body_bytes())
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "footcare_socketio", __name__)
        limit_request_size(socketio_webhook)
        use_shared_gate(socketio_webhook, self)
        self.sio = sio
        namespace = self.namespace
        logger.info("Widget origins allowed to connect: %s", self.allowed_origins)

        async def tell(sid: Text, key: str) -> None:
            await sio.emit(self.bot_message_evt, {"text": notice(key)}, room=sid, namespace=namespace)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.origin_allowed(environ.get("HTTP_ORIGIN")):
                logger.warning("Refused a widget connection from a site that is not in WIDGET_ORIGINS.")
                return False
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not (token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)):
                    return False
            request = environ.get("sanic.request")
            client = client_address(request) if request is not None else ""
            await sio.save_session(sid, {"client": client}, namespace=namespace)
            return True

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            token = asked if self.signer.verify(asked) else self.signer.issue()
            session_id = self.signer.verify(token)
            session = await sio.get_session(sid, namespace=namespace)
            previous = session.get("session_id")
            if self.session_persistence and previous and previous != session_id:
                await sio.leave_room(sid, previous, namespace=namespace)
            await sio.save_session(sid, {**session, "session_id": session_id}, namespace=namespace)
            if self.session_persistence:
                # a coroutine in python-socketio 5.x: Rasa 3.6's own channel forgets to await it,
                # so its replies to persistent sessions never reach the widget
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", token, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            output = SocketIOOutput(sio, self.bot_message_evt)
            session = await sio.get_session(sid, namespace=namespace)
            if self.session_persistence:
                if not session.get("session_id"):
                    await tell(sid, "no_session")
                    return
                sender_id = sender_key("web", session["session_id"])
            else:
                sender_id = sender_key("web", sid)
            data = data if isinstance(data, dict) else {}
            text = data.get("message")
            if not isinstance(text, str) or not clean_text(text).strip():
                await output.send_text_message(sender_id, notice("empty"))
                return
            if self.limits.retry_after(session.get("client", "")):
                await output.send_text_message(sender_id, notice("slow_down"))
                return
            with self.gate.admit(sender_id) as admitted:
                if not admitted:
                    await output.send_text_message(sender_id, notice("busy"))
                    return
                message = UserMessage(
                    clean_text(text), output, sender_id, input_channel=self.name(), metadata=self._metadata(data)
                )
                try:
                    await handle(message)
                except Exception as error:
                    logger.error("Handling a widget message failed: %s", type(error).__name__)
                    logger.debug("Widget message failure", exc_info=True)
                    await output.send_text_message(sender_id, unavailable_text())

        return socketio_webhook

    def origin_allowed(self, origin: Optional[str]) -> bool:
        """Browsers always name the page's origin; other clients may send none."""
        if origin is None or self.allowed_origins == "*":
            return True
        return origin.rstrip("/") in self.allowed_origins

    def _metadata(self, data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        metadata = data.get(self.metadata_key)
        if isinstance(metadata, str):
            if len(metadata) > 4 * max_body_bytes():
                return None
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return None
        return small_metadata(metadata)
