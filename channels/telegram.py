"""Telegram channel: Rasa's TelegramInput, made safe to run and to leave off.

Differences from Rasa's own connector:
- configured only through environment variables (no secrets in credentials.yml):
    TELEGRAM_TOKEN         the bot token from BotFather; without it the channel is off
    TELEGRAM_SECRET_TOKEN  required with a token: Telegram sends it back in the
                           X-Telegram-Bot-Api-Secret-Token header of every update
    TELEGRAM_WEBHOOK_URL   the public HTTPS URL of /webhooks/telegram/webhook
    TELEGRAM_BOT_NAME      the bot's username (commands like /start@name)
    TELEGRAM_API_URL       the Bot API server (default https://api.telegram.org); only
                           https://, or http:// to this machine (127.0.0.1, ::1,
                           localhost: a local Bot API server, the tests' fake one)
- when off, it touches no network and answers 404 on its webhook;
- when on, it sets the webhook (with the secret token) once the server is up,
  and does not call Telegram for anything else but sending replies;
- an update without the right secret token gets a 403 and no reply (the
  warning about it is logged at most once a minute);
- the conversation id is `telegram:<chat id>`;
- an update id is answered once, also across replicas: with a Redis lock store
  (the production profile) the ids seen are kept in Redis for a day;
- a button press is only taken when its payload is `/<intent>` of a known
  intent (never entities), and never Rasa's own commands (`/restart`, `/back`,
  `/session_start`), which a typed message cannot send either; a chat sending
  too fast, or a server with too many messages waiting, gets a short notice
  (channels.inputs.RateLimits, SenderGate);
- a body that is not readable JSON (also JSON nested deeper than Python's
  parser goes) gets a 400: Telegram never sends one;
- a reply Telegram does not take is sent again after 0.5, 1 and 2 seconds;
  what still was not delivered (and the rest of that turn's reply) is recorded
  in the conversation as a bot event with `metadata.undelivered`;
- every other update gets a 200, so Telegram never retries it: text goes to the
  assistant, /start and /help greet, button presses are answered, and stickers,
  photos, edited messages, unknown commands and empty text get a short notice;
  group chats and updates of another shape get nothing;
- replies are plain text (never parsed as HTML/Markdown), one message per
  answer, buttons as an inline keyboard.

Nothing here logs message text or the bot token.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Text
from urllib.parse import urlsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.telegram import TelegramInput as RasaTelegramInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import never_silent
from channels.inputs import (
    RateLimits,
    SenderGate,
    ThrottledWarning,
    clean_text,
    limit_request_size,
    notice,
    raw_sender,
    sender_key,
    use_shared_gate,
)
from footcare_content.apology import unavailable_text

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_API_URL = "https://api.telegram.org"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
GREETING_PAYLOAD = "/greet"
GREETING_COMMANDS = {"start", "help"}
MAX_TEXT = 4000  # Telegram's limit is 4096 characters per message
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
BUTTONS_PER_ROW = 2
TOKEN_FORMAT = re.compile(r"^[0-9]+:[A-Za-z0-9_-]+$")
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# A button payload: "/intent", never with entities
PAYLOAD_FORMAT = re.compile(r"^/[A-Za-z0-9_]{1,60}$")
# Rasa's own intents that act on the conversation itself (/restart wipes it, /back undoes a turn,
# /session_start starts a new session): no button of the assistant sends them, typed or pressed.
RASA_COMMANDS = frozenset({"restart", "back", "session_start", "nlu_fallback"})
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Seconds to wait before sending a reply again that Telegram did not take.
RETRY_DELAYS = (0.5, 1.0, 2.0)
UPDATE_MEMORY_S = 24 * 3600


@dataclass(frozen=True)
class TelegramSettings:
    token: Optional[str] = None
    secret_token: Optional[str] = None
    webhook_url: Optional[str] = None
    bot_name: Optional[str] = None
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "TelegramSettings":
        def get(name: str) -> Optional[str]:
            value = (env.get(name) or "").strip()
            return value or None

        return cls(
            token=get("TELEGRAM_TOKEN"),
            secret_token=get("TELEGRAM_SECRET_TOKEN"),
            webhook_url=get("TELEGRAM_WEBHOOK_URL"),
            bot_name=(get("TELEGRAM_BOT_NAME") or "").lstrip("@") or None,
            api_url=(get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/"),
        )

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def problems(self) -> List[str]:
        """What stops the channel from running safely (empty when it is off)."""
        if not self.enabled:
            return []
        found = []
        if not TOKEN_FORMAT.match(self.token or ""):
            found.append("TELEGRAM_TOKEN does not look like a bot token from BotFather (digits:letters)")
        if not self.secret_token:
            found.append("TELEGRAM_SECRET_TOKEN is not set (1 to 256 letters, digits, _ or -)")
        elif not SECRET_FORMAT.match(self.secret_token):
            found.append("TELEGRAM_SECRET_TOKEN may only hold 1 to 256 letters, digits, _ or -")
        if not api_url_allowed(self.api_url):
            found.append("TELEGRAM_API_URL must be an https:// URL (http:// only to 127.0.0.1, ::1 or localhost)")
        return found


def api_url_allowed(url: str) -> bool:
    """https://, or plain http:// to this machine only (the token travels in the URL)."""
    parts = urlsplit(url)
    if parts.username or parts.password or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


class TelegramError(Exception):
    """A Bot API call that failed; its message never holds the token or the text sent."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def worth_retrying(self) -> bool:
        """A network failure, Telegram's flood limit or a server error (not: blocked, bad request)."""
        return self.status is None or self.status == 429 or self.status >= 500


class BotAPI:
    """The few Bot API methods the channel uses, over aiohttp."""

    def __init__(self, settings: TelegramSettings, timeout: float = 10.0) -> None:
        self._base = f"{settings.api_url}/bot{settings.token}/"
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: Optional[aiohttp.ClientSession] = None

    async def call(self, method: str, **params: Any) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        for attempt in range(2):
            try:
                async with self._session.post(self._base + method, json=params) as reply:
                    status = reply.status
                    try:
                        data = await reply.json(content_type=None)
                    except ValueError:
                        data = None
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                raise TelegramError(f"{method}: {type(error).__name__}") from None
            if isinstance(data, dict) and data.get("ok"):
                return data.get("result")
            data = data if isinstance(data, dict) else {}
            retry_after = (data.get("parameters") or {}).get("retry_after")
            if status == 429 and attempt == 0 and isinstance(retry_after, int) and retry_after <= 5:
                await asyncio.sleep(retry_after)
                continue
            description = str(data.get("description") or "no description")[:200]
            raise TelegramError(f"{method}: HTTP {status}: {description}", status)
        raise TelegramError(f"{method}: too many requests", 429)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def split_text(text: str, limit: int = MAX_TEXT) -> List[str]:
    """Cuts a long reply into messages Telegram accepts, at paragraph breaks where possible."""
    text = text.strip()
    chunks: List[str] = []
    while len(text) > limit:
        cut = text.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        chunks.append(text)
    return chunks


def inline_keyboard(buttons: List[Dict[Text, Any]], per_row: int = BUTTONS_PER_ROW) -> Optional[dict]:
    keys = []
    for button in buttons:
        title = str(button.get("title") or "").strip()
        if not title:
            continue
        if button.get("url"):
            keys.append({"text": title, "url": str(button["url"])})
            continue
        payload = str(button.get("payload") or title)
        if len(payload.encode("utf-8")) > MAX_CALLBACK_DATA:
            logger.warning("Left out a Telegram button whose payload is longer than %d bytes.", MAX_CALLBACK_DATA)
            continue
        keys.append({"text": title, "callback_data": payload})
    if not keys:
        return None
    return {"inline_keyboard": [keys[i : i + per_row] for i in range(0, len(keys), per_row)]}


def chat_id_for(recipient_id: Text) -> Any:
    """The chat id of a conversation id `telegram:<chat id>` (or of a bare chat id)."""
    chat = raw_sender(recipient_id)
    return int(chat) if re.fullmatch(r"-?[0-9]+", chat) else chat


class TelegramOutput(OutputChannel):
    """Sends the assistant's replies through the Bot API; failures are logged, never raised."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    def __init__(self, api: BotAPI, retry_delays: Sequence[float] = RETRY_DELAYS) -> None:
        self.api, self.retry_delays = api, tuple(retry_delays)
        # The texts of this turn that Telegram did not take; once one is left, the rest of the
        # turn's reply is not sent either (it would arrive without what came before it).
        self.undelivered: List[str] = []

    async def _call_with_retries(self, method: str, **params: Any) -> None:
        for delay in (*self.retry_delays, None):
            try:
                await self.api.call(method, **params)
                return
            except TelegramError as error:
                if delay is None or not error.worth_retrying:
                    raise
                logger.info("Telegram did not take a reply (%s); trying again in %.1f s.", error, delay)
                await asyncio.sleep(delay)

    async def _send(self, recipient_id: Text, text: Text, reply_markup: Optional[dict] = None) -> None:
        chunks = split_text(text or "")
        for index, chunk in enumerate(chunks):
            if self.undelivered:
                self.undelivered.append(chunk)
                continue
            params: Dict[str, Any] = {"chat_id": chat_id_for(recipient_id), "text": chunk}
            if reply_markup and index == len(chunks) - 1:
                params["reply_markup"] = reply_markup
            try:
                await self._call_with_retries("sendMessage", **params)
            except TelegramError as error:
                logger.warning("Telegram did not take a reply: %s; it is recorded as undelivered.", error)
                self.undelivered.append(chunk)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send(recipient_id, text)

    async def send_text_with_buttons(
        self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any
    ) -> None:
        await self._send(recipient_id, text, inline_keyboard(buttons))

    async def answer_callback(self, callback_id: str) -> None:
        try:
            await self.api.call("answerCallbackQuery", callback_query_id=callback_id)
        except TelegramError as error:
            logger.warning("Telegram did not take a button answer: %s", error)


@dataclass(frozen=True)
class Incoming:
    """What to do with one update."""

    chat_id: Optional[int] = None
    text: Optional[str] = None  # for the assistant
    notice: Optional[str] = None  # key of a notice sent straight back
    callback_id: Optional[str] = None  # a button press to acknowledge


def _private_chat_id(message: Any) -> Optional[int]:
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = chat.get("id")
    if isinstance(chat_id, bool) or not isinstance(chat_id, int):
        return None
    return chat_id


def read_update(
    update: Any, bot_name: Optional[str] = None, intents: Optional[Sequence[str]] = None
) -> Optional[Incoming]:
    """Decides what an update asks for; None when it needs nothing at all. A button's payload is
    taken only when it is `/<intent>` of one of `intents` (when given)."""
    if not isinstance(update, dict):
        return None
    query = update.get("callback_query")
    if isinstance(query, dict):
        callback_id = query.get("id") if isinstance(query.get("id"), str) else None
        chat_id = _private_chat_id(query.get("message"))
        data = query.get("data")
        known = (
            isinstance(data, str)
            and PAYLOAD_FORMAT.match(data)
            and data[1:] not in RASA_COMMANDS
            and (intents is None or data[1:] in intents)
        )
        if chat_id is None or not known:
            return Incoming(callback_id=callback_id) if callback_id else None
        return Incoming(chat_id=chat_id, text=data, callback_id=callback_id)
    if "edited_message" in update:
        chat_id = _private_chat_id(update["edited_message"])
        return Incoming(chat_id=chat_id, notice="edited") if chat_id is not None else None
    message = update.get("message")
    chat_id = _private_chat_id(message)
    if chat_id is None:
        return None
    text = message.get("text")
    if not isinstance(text, str):
        return Incoming(chat_id=chat_id, notice="text_only")
    text = text.strip()
    if not text:
        return Incoming(chat_id=chat_id, notice="empty")
    if text.startswith("/"):
        command, _, addressee = text.split()[0][1:].partition("@")
        if addressee and bot_name and addressee.lower() != bot_name.lower():
            return None  # a command for another bot
        if command.lower() in GREETING_COMMANDS:
            return Incoming(chat_id=chat_id, text=GREETING_PAYLOAD)
        return Incoming(chat_id=chat_id, notice="unknown_command")
    return Incoming(chat_id=chat_id, text=text)


class RecentUpdates:
    """Remembers the last update ids, so an update Telegram sends again is not answered twice.

    With `redis` (the production profile's lock store client) the ids are kept there, for a day,
    so that a second replica does not answer an update the first one took; if Redis fails, the
    ids this process saw still count.
    """

    def __init__(self, size: int = 1000) -> None:
        self.size, self._seen = size, OrderedDict()  # type: ignore[var-annotated]

    def seen(self, update_id: Any, redis: Any = None, key_prefix: str = "") -> bool:
        if isinstance(update_id, bool) or not isinstance(update_id, int):
            return False
        if update_id in self._seen:
            return True
        self._seen[update_id] = None
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        if redis is not None:
            try:
                return not redis.set(f"{key_prefix}telegram_update:{update_id}", 1, nx=True, ex=UPDATE_MEMORY_S)
            except Exception as error:  # redis' own errors; the local memory still counts
                logger.warning("Could not check the Telegram update id in Redis (%s).", type(error).__name__)
        return False


def shared_redis(app: Any) -> tuple[Any, str]:
    """The Redis client and key prefix of the Rasa server's lock store, if it is a Redis one."""
    lock_store = getattr(getattr(app, "ctx", None), "agent", None)
    lock_store = getattr(lock_store, "lock_store", None)
    return getattr(lock_store, "red", None), str(getattr(lock_store, "key_prefix", "") or "")


def known_intents(app: Any) -> Optional[List[str]]:
    """The intents of the loaded model's domain (None before a model is loaded)."""
    domain = getattr(getattr(getattr(app, "ctx", None), "agent", None), "domain", None)
    return list(domain.intents) if domain is not None else None


async def record_undelivered(app: Any, sender_id: str, texts: List[str]) -> None:
    """Adds a bot event with `metadata.undelivered` (the texts) to the conversation, under its lock."""
    from rasa.shared.core.events import BotUttered

    agent = getattr(getattr(app, "ctx", None), "agent", None)
    if agent is None or agent.tracker_store is None or agent.lock_store is None:
        return
    async with agent.lock_store.lock(sender_id):
        tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            return
        tracker.update(BotUttered(None, metadata={"undelivered": texts, "channel": "telegram"}))
        await agent.tracker_store.save(tracker)


class TelegramInput(RasaTelegramInput):
    """Telegram input channel (see the module's docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        if credentials and any(credentials.get(key) for key in ("access_token", "verify", "webhook_url")):
            logger.warning(
                "The Telegram channel ignores values in credentials.yml; set TELEGRAM_* environment variables."
            )
        return cls(TelegramSettings.from_env())

    def __init__(self, settings: Optional[TelegramSettings] = None) -> None:
        settings = settings or TelegramSettings()
        problems = settings.problems()
        if problems:
            raise RasaException("The Telegram channel cannot start: " + "; ".join(problems) + ".")
        super().__init__(settings.token, settings.bot_name, settings.webhook_url, debug_mode=False)
        self.settings = settings
        self.api = BotAPI(settings) if settings.enabled else None
        self.output = TelegramOutput(self.api) if self.api else None
        self.gate = SenderGate()
        self.limits = RateLimits()
        self.recent = RecentUpdates()
        self.refused = ThrottledWarning(logger, "Refused Telegram webhook calls without the right secret token.")
        self.retry_delays = RETRY_DELAYS

    def get_output_channel(self) -> Optional[TelegramOutput]:  # type: ignore[override]
        """The channel's output, or None when it is off (Rasa's version calls Telegram here)."""
        return self.output

    def secret_matches(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER)
        expected = self.settings.secret_token
        if not given or not expected:
            return False
        return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))

    async def set_webhook(self) -> bool:
        if self.api is None:
            return False
        url = self.settings.webhook_url
        if not url:
            logger.warning("TELEGRAM_WEBHOOK_URL is not set: the Telegram webhook was not set.")
            return False
        if not url.startswith("https://"):
            logger.warning("TELEGRAM_WEBHOOK_URL should be an https:// URL; Telegram only calls HTTPS webhooks.")
        try:
            await self.api.call(
                "setWebhook", url=url, secret_token=self.settings.secret_token, allowed_updates=ALLOWED_UPDATES
            )
        except TelegramError as error:
            logger.error("Could not set the Telegram webhook: %s", error)
            return False
        logger.info("The Telegram webhook is set.")
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = never_silent(on_new_message)
        webhook = Blueprint("footcare_telegram", __name__)
        limit_request_size(webhook)
        use_shared_gate(webhook, self)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.settings.enabled else "off"})

        if self.settings.enabled:

            @webhook.listener("after_server_start")
            async def start(*_: Any) -> None:
                await self.set_webhook()

            @webhook.listener("before_server_stop")
            async def stop(*_: Any) -> None:
                if self.api is not None:
                    await self.api.close()

        else:
            logger.info("The Telegram channel is off (TELEGRAM_TOKEN is not set).")

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.enabled:
                return response.json({"error": "the Telegram channel is off"}, status=404)
            if not self.secret_matches(request):
                self.refused()
                return response.json({"error": "forbidden"}, status=403)
            try:
                update = json.loads(request.body or b"")
            except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's parser goes
                logger.warning("Refused a Telegram update that is not readable JSON.")
                return response.json({"error": "the body must be a JSON object"}, status=400)
            if isinstance(update, dict) and self.recent.seen(update.get("update_id"), *shared_redis(request.app)):
                return response.json({"ok": True})
            try:
                incoming = read_update(update, self.settings.bot_name, known_intents(request.app))
                await self.dispatch(incoming, handle, request.app)
            except Exception as error:  # never a 500: Telegram would send the update again and again
                logger.error("Handling a Telegram update failed: %s", type(error).__name__)
                logger.debug("Telegram update failure", exc_info=True)
            return response.json({"ok": True})

        return webhook

    async def dispatch(
        self, incoming: Optional[Incoming], handle: Callable[[UserMessage], Awaitable[Any]], app: Any = None
    ) -> None:
        if incoming is None or self.api is None:
            return
        output = TelegramOutput(self.api, self.retry_delays)  # one per update: it records what was not delivered
        if incoming.callback_id:
            await output.answer_callback(incoming.callback_id)
        if incoming.chat_id is None:
            return
        sender = sender_key("telegram", incoming.chat_id)
        if incoming.notice:
            await output.send_text_message(sender, notice(incoming.notice))
            return
        if not incoming.text:
            return
        if self.limits.retry_after(sender):
            await output.send_text_message(sender, notice("slow_down"))
            return
        with self.gate.admit(sender) as admitted:
            if not admitted:
                await output.send_text_message(sender, notice("busy"))
                return
            message = UserMessage(clean_text(incoming.text), output, sender, input_channel=self.name())
            try:
                await handle(message)
            except Exception:
                await output.send_text_message(sender, unavailable_text())
                raise
            finally:
                if output.undelivered:
                    await record_undelivered(app, sender, output.undelivered)
