"""Socket.IO channel for the website widget (rasa-webchat): Rasa's own, hardened.

Differences from Rasa's SocketIOInput:
- only pages from the configured website origins may connect (WIDGET_ORIGINS,
  space or comma separated; by default the demo page's http://localhost:8080
  and http://127.0.0.1:8080). Rasa's own accepts a socket from any site (CORS
  does not cover WebSockets). The CORS headers of the socket's HTTP requests
  come from `rasa run --cors`, which scripts/run.sh sets to the same origins;
- a socket only speaks for the session the server confirmed to it: a session id
  the widget brings back from an earlier visit is kept when it is one the server
  could have issued (32 hex digits), otherwise the socket gets a new one;
- messages that are not text, empty messages and floods from one session get a
  short notice instead of reaching the assistant; long messages are cut;
- a turn without replies gets the fallback reply (see channels.guard);
- with session persistence, the socket really joins its session's room (Rasa
  3.6's own channel does not await python-socketio 5's enter_room, so the
  widget never gets its replies);
- a reply's lines inside a paragraph stay on their own lines in the widget
  (paragraphs become separate bubbles, as in Rasa's own channel).

Nothing here logs message text.
"""
from __future__ import annotations

import json
import logging
import os
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Text, Union

from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput as RasaSocketIOOutput
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from channels.guard import never_silent, unavailable_text
from channels.inputs import SenderGate, clean_text, notice

logger = logging.getLogger(__name__)

DEFAULT_WIDGET_ORIGINS = ("http://localhost:8080", "http://127.0.0.1:8080")
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def widget_origins(configured: Union[None, str, Sequence[str]] = None) -> Union[str, List[str]]:
    """The origins allowed to open a socket: credentials, else WIDGET_ORIGINS, else the demo page's."""
    value = configured if configured is not None else os.environ.get("WIDGET_ORIGINS", "")
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    items = [item.rstrip("/") for item in items if item]
    if "*" in items:
        return "*"
    return items or list(DEFAULT_WIDGET_ORIGINS)


def markdown_lines(text: str) -> str:
    """Keeps single line breaks (lists such as the clinic's contacts) as breaks in the widget's Markdown."""
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", text)


class SocketIOOutput(RasaSocketIOOutput):
    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await super().send_text_message(recipient_id, markdown_lines(text), **kwargs)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await super().send_text_with_buttons(recipient_id, markdown_lines(text), buttons, **kwargs)


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

    def get_output_channel(self) -> Optional[SocketIOOutput]:  # type: ignore[override]
        if self.sio is None:
            return super().get_output_channel()  # warns, returns None
        return SocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = never_silent(on_new_message)
        # CORS headers come from the Sanic app (`rasa run --cors`, see scripts/run.sh); engine.io
        # adding its own as well would send the header twice and browsers refuse that.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "footcare_socketio", __name__)
        self.sio = sio
        namespace = self.namespace
        logger.info("Widget origins allowed to connect: %s", self.allowed_origins)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.origin_allowed(environ.get("HTTP_ORIGIN")):
                logger.warning("Refused a widget connection from a site that is not in WIDGET_ORIGINS.")
                return False
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            asked = data.get("session_id") if isinstance(data, dict) else None
            session_id = asked if isinstance(asked, str) and SESSION_ID.match(asked) else uuid.uuid4().hex
            await sio.save_session(sid, {"session_id": session_id}, namespace=namespace)
            if self.session_persistence:
                # a coroutine in python-socketio 5.x: Rasa 3.6's own channel forgets to await it,
                # so its replies to persistent sessions never reach the widget
                await sio.enter_room(sid, session_id, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            output = SocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                session = await sio.get_session(sid, namespace=namespace)
                sender_id = session.get("session_id") if isinstance(session, dict) else None
                if not sender_id:
                    logger.warning("Ignored a widget message sent before its session was confirmed.")
                    return
            else:
                sender_id = sid
            data = data if isinstance(data, dict) else {}
            text = data.get("message")
            if not isinstance(text, str) or not clean_text(text).strip():
                await output.send_text_message(sender_id, notice("empty"))
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
            try:
                metadata = json.loads(metadata)
            except ValueError:
                return None
        return metadata if isinstance(metadata, dict) else None
