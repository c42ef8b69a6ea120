"""A fake Telegram Bot API server on 127.0.0.1, and real-shaped updates to send.

It answers the way https://core.telegram.org/bots/api does
({"ok": true, "result": ...} or {"ok": false, "error_code": ..., "description": ...}),
only for the configured token, and records every call so tests can check what
the assistant sent where.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl

from footcare_testing.servers import free_port

TOKEN = "123456789:TEST-token_for-the-fake-bot-api"
SECRET = "test-secret_0123456789"
BOT_NAME = "footcare_test_bot"
BOT_ID = 123456789


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.port = free_port()
        self.calls: list[Call] = []
        # method -> (error_code, description), once; or (error_code, description, times)
        self.failures: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._message_ids = itertools.count(1000)
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeTelegram":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body = fake.answer(self.path, self.headers.get("Content-Type", ""), raw)
                self.reply(status, body)

            def do_GET(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                status, body = fake.answer(path, "application/x-www-form-urlencoded", query.encode())
                self.reply(status, body)

            def reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str, content_type: str, raw: bytes) -> tuple[int, dict]:
        parts = path.strip("/").split("/")
        if len(parts) != 2 or not parts[0].startswith("bot"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        token, method = parts[0][3:], parts[1]
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if "json" in content_type:
            params = json.loads(raw or b"{}")
        else:
            params = {k: _maybe_json(v) for k, v in parse_qsl(raw.decode())}
        with self._lock:
            self.calls.append(Call(method, params))
            failure = self.failures.pop(method, None)
            if failure and len(failure) == 3 and failure[2] > 1:
                self.failures[method] = (failure[0], failure[1], failure[2] - 1)
        if failure:
            code, description = failure[:2]
            return code, {"ok": False, "error_code": code, "description": description}
        if method == "sendMessage":
            if not str(params.get("text") or "").strip():
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
            if len(params["text"]) > 4096:
                return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
            chat = {"id": params.get("chat_id"), "type": "private"}
            return 200, {
                "ok": True,
                "result": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": chat,
                    "text": params["text"],
                },
            }
        if method in ("setWebhook", "answerCallbackQuery", "deleteWebhook"):
            return 200, {
                "ok": True,
                "result": True,
                "description": "Webhook was set" if method == "setWebhook" else None,
            }
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": BOT_ID, "is_bot": True, "first_name": "Footcare", "username": BOT_NAME},
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}

    # --- what the tests read ---------------------------------------------------------
    def recorded(self, method: Optional[str] = None, chat_id: Any = None) -> list[Call]:
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if (method is None or c.method == method)
            and (chat_id is None or str(c.params.get("chat_id")) == str(chat_id))
        ]

    def sent_texts(self, chat_id: Any) -> list[str]:
        return [c.params["text"] for c in self.recorded("sendMessage", chat_id)]

    def wait_for(self, check: Callable[[], Any], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            time.sleep(0.1)
        raise AssertionError(f"the fake Bot API did not see what was expected within {timeout:.0f} s")


def _maybe_json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


# --- updates as Telegram sends them ----------------------------------------------------
_update_ids = itertools.count(int(time.time()) % 100000 * 1000)


def _user(chat_id: int) -> dict:
    return {"id": chat_id, "is_bot": False, "first_name": "Pat", "language_code": "en"}


def _message(chat_id: int, **content: Any) -> dict:
    return {
        "message_id": next(_update_ids) % 100000,
        "from": _user(chat_id),
        "chat": {"id": chat_id, "first_name": "Pat", "type": "private"},
        "date": int(time.time()),
        **content,
    }


def text_update(chat_id: int, text: str) -> dict:
    entities = [{"offset": 0, "length": len(text.split()[0]), "type": "bot_command"}] if text.startswith("/") else None
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return {"update_id": next(_update_ids), "message": _message(chat_id, **content)}


def sticker_update(chat_id: int) -> dict:
    sticker = {
        "file_id": "CAACAgIAAxkBAAEB",
        "file_unique_id": "AgADxyz",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "\U0001f44d",
    }
    return {"update_id": next(_update_ids), "message": _message(chat_id, sticker=sticker)}


def photo_update(chat_id: int, caption: Optional[str] = None) -> dict:
    photo = [{"file_id": "AgACAgIAAxkBAAIB", "file_unique_id": "AQADabc", "file_size": 1234, "width": 90, "height": 67}]
    content: dict[str, Any] = {"photo": photo}
    if caption:
        content["caption"] = caption
    return {"update_id": next(_update_ids), "message": _message(chat_id, **content)}


def edited_update(chat_id: int, text: str) -> dict:
    message = _message(chat_id, text=text, edit_date=int(time.time()))
    return {"update_id": next(_update_ids), "edited_message": message}


def callback_update(chat_id: int, data: str, message_text: str = "Pick a topic") -> dict:
    bot_message = {
        "message_id": next(_update_ids) % 100000,
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Footcare", "username": BOT_NAME},
        "chat": {"id": chat_id, "first_name": "Pat", "type": "private"},
        "date": int(time.time()),
        "text": message_text,
    }
    query = {
        "id": str(next(_update_ids) * 7919),
        "from": _user(chat_id),
        "message": bot_message,
        "chat_instance": "-123456789",
        "data": data,
    }
    return {"update_id": next(_update_ids), "callback_query": query}


def group_update(chat_id: int, text: str) -> dict:
    update = text_update(chat_id, text)
    update["message"]["chat"] = {"id": chat_id, "title": "Foot friends", "type": "group"}
    return update
