"""Bad input on every channel, against the running server.

REST (HTTP), the widget's socket.io (a socket.io client, as rasa-webchat speaks
it) and Telegram (updates as Telegram posts them) each get empty and
whitespace-only text, 10 000 characters, emoji and other scripts, HTML and
<script>, control characters, malformed requests and a flood from one sender.
Each gets a safe reply or a 4xx, the server keeps serving, conversations that
were stored before are unchanged, and no message text reaches the server log.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import pytest
import socketio

from actions.knowledge import knowledge
from channels.inputs import MAX_MESSAGE_CHARS, SenderGate, clean_text, notice
from channels.socketio import SocketIOInput, markdown_lines, widget_origins
from channels.telegram import SECRET_HEADER
from tests import fake_telegram as fake

KB = knowledge()
DOCTOR = KB.doctor_recommendation
MARKER = "zebracorn"  # a word that must never show up in the server log
_ids = itertools.count(1)


def post(url: str, body: bytes, headers: Optional[dict] = None, timeout: float = 60) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class Rest:
    name = "rest"

    def __init__(self, live: Any) -> None:
        self.url = f"{live.rasa.url}/webhooks/rest/webhook"

    def new_sender(self) -> str:
        return f"bad-input-rest-{next(_ids)}"

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        status, body = post(self.url, json.dumps({"sender": sender, "message": text}).encode())
        return status, [m.get("text", "") for m in body] if status == 200 else []


class Widget:
    """A socket.io client speaking to the widget channel the way rasa-webchat does."""

    name = "widget"

    def __init__(self, live: Any) -> None:
        self.url, self.origin = live.rasa.url, live.origin
        self.clients: dict[str, "WidgetSession"] = {}

    def new_sender(self) -> str:
        session = WidgetSession(self.url, self.origin).open()
        self.clients[session.session_id] = session
        return session.session_id

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        return 200, self.clients[sender].say(text)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


class WidgetSession:
    def __init__(self, url: str, origin: str) -> None:
        self.url, self.origin = url, origin
        self.sio = socketio.Client(reconnection=False)
        self.received: list[dict] = []
        self.session_id = ""
        self._confirmed = threading.Event()
        self.sio.on("bot_uttered", self.received.append)
        self.sio.on("session_confirm", self._confirm)

    def _confirm(self, session_id: str) -> None:
        self.session_id = session_id
        self._confirmed.set()

    def open(self, asked: Any = None, request_session: bool = True) -> "WidgetSession":
        self.sio.connect(self.url, headers={"Origin": self.origin}, transports=["polling"], wait_timeout=20)
        if request_session:
            self.sio.emit("session_request", {"session_id": asked})
            assert self._confirmed.wait(20), "no session_confirm"
        return self

    def emit(self, data: Any) -> None:
        self.sio.emit("user_uttered", data)

    def say(self, text: Any, raw: bool = False, quiet: float = 1.0, timeout: float = 60) -> list[str]:
        start = len(self.received)
        self.emit(text if raw else {"message": text, "session_id": self.session_id})
        return [m.get("text", "") for m in self.collect(start, quiet, timeout)]

    def collect(self, start: int, quiet: float = 1.0, timeout: float = 60) -> list[dict]:
        """Waits for the first reply, then until no more arrive for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        seen, last_change = start, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.received) != seen:
                seen, last_change = len(self.received), time.monotonic()
            elif seen > start and time.monotonic() - last_change >= quiet:
                break
            time.sleep(0.05)
        return self.received[start:]

    def close(self) -> None:
        # engine.io's CLOSE, without waiting for the long poll that is still open to come back
        self.sio.eio.disconnect(abort=True)


class Telegram:
    name = "telegram"

    def __init__(self, live: Any) -> None:
        self.url, self.fake = f"{live.rasa.url}/webhooks/telegram/webhook", live.telegram

    def new_sender(self) -> str:
        return str(800_000_000 + next(_ids))

    def send(self, update: Any) -> int:
        return post(self.url, json.dumps(update).encode(), {SECRET_HEADER: fake.SECRET})[0]

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        before = len(self.fake.sent_texts(sender))
        status = self.send(fake.text_update(int(sender), text))
        return status, self.fake.sent_texts(sender)[before:]


# --- without a model: the checks every channel applies ---------------------------------------
def test_clean_text_drops_control_characters_and_cuts_long_text():
    assert clean_text("heel\x00 pain\x07\x1b[31m\r\nplease\ttoo") == "heel pain[31m\nplease\ttoo"
    assert clean_text("\U0001F9B6 \u200d Fu\u00df \u8db3 \u0623\u0644\u0645") == "\U0001F9B6 \u200d Fu\u00df \u8db3 \u0623\u0644\u0645"
    assert len(clean_text("x" * 10_000)) == MAX_MESSAGE_CHARS


def test_sender_gate_lets_a_few_messages_of_one_sender_wait():
    gate = SenderGate(limit=2)
    with gate.admit("a") as first, gate.admit("a") as second, gate.admit("a") as third, gate.admit("b") as other:
        assert (first, second, third, other) == (True, True, False, True)
    with gate.admit("a") as again:
        assert again


def test_widget_origins(monkeypatch):
    monkeypatch.delenv("WIDGET_ORIGINS", raising=False)
    assert widget_origins() == ["http://localhost:8080", "http://127.0.0.1:8080"]
    monkeypatch.setenv("WIDGET_ORIGINS", "https://www.clinic.test/, https://clinic.test")
    assert widget_origins() == ["https://www.clinic.test", "https://clinic.test"]
    assert widget_origins(["https://a.test"]) == ["https://a.test"]
    assert widget_origins("*") == "*"
    channel = SocketIOInput.from_credentials({"session_persistence": True})
    assert channel.session_persistence and channel.allowed_origins == ["https://www.clinic.test", "https://clinic.test"]
    assert channel.origin_allowed("https://clinic.test") and channel.origin_allowed(None)
    assert not channel.origin_allowed("https://evil.test") and not channel.origin_allowed("null")


def test_a_list_keeps_its_lines_in_the_widget():
    assert markdown_lines("Call us:\n\u2022 phone\n\u2022 email\n\nThanks") == "Call us:  \n\u2022 phone  \n\u2022 email\n\nThanks"


# --- the running server -------------------------------------------------------------------
@pytest.fixture(scope="module")
def live(channels_stack):
    return channels_stack


@pytest.fixture(scope="module")
def keeper(live):
    """A conversation stored before any bad input, with its events."""
    rest = Rest(live)
    sender = "bad-input-keeper"
    assert rest.say(sender, "hello")[0] == 200
    assert rest.say(sender, "How should I prepare for a fascia massage session?")[0] == 200
    return sender, live.rasa.tracker(sender)["events"]


@pytest.fixture(scope="module")
def channels(live, keeper):
    clients = {"rest": Rest(live), "widget": Widget(live), "telegram": Telegram(live)}
    yield clients
    clients["widget"].close()


CHANNELS = ["rest", "widget", "telegram"]
LONG = ("My heel hurts every morning when I get up. " * 250)[:10_000]
TEXTS = {
    "emoji": f"\U0001F9B6\U0001F62B my heel hurts {MARKER} \U0001F468\u200D\U0001F469\u200D\U0001F467",
    "other-scripts": f"Fußschmerzen {MARKER}? 足の痛み。ألم في القدم. Боль в пятке. पैर में दर्द",
    "html": f"<b>heel</b> pain {MARKER} <img src=x onerror=alert(1)>",
    "script": f"<script>alert('{MARKER}')</script> how do I prepare?",
    "control-characters": f"heel\x00 pain\x07\x1b[31m {MARKER}\u202e\r\nplease",
    "10000-characters": LONG,
}


@pytest.mark.model
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("text", ["", "   \n\t  "], ids=["empty", "whitespace"])
def test_empty_text_gets_a_4xx_or_a_short_notice(channels, channel, text):
    client = channels[channel]
    status, replies = client.say(client.new_sender(), text)
    if channel == "rest":
        assert status == 400
    else:
        assert (status, replies) == (200, [notice("empty")])


@pytest.mark.model
@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("kind", list(TEXTS))
def test_odd_text_gets_a_safe_reply(live, channels, channel, kind):
    client = channels[channel]
    sender = client.new_sender()
    status, replies = client.say(sender, TEXTS[kind])
    assert status == 200
    assert replies and all(reply.strip() for reply in replies)
    assert not any("<script" in reply.lower() or "onerror" in reply.lower() for reply in replies)
    stored = [e["text"] for e in live.rasa.tracker(sender)["events"] if e["event"] == "user"]
    assert len(stored) == 1 and len(stored[0]) <= MAX_MESSAGE_CHARS
    assert "\x00" not in stored[0] and "\x1b" not in stored[0]


@pytest.mark.model
@pytest.mark.parametrize(
    "body",
    [b'{"sender": "a", "message": ', b"[]", b'"hello"', b"", b"\xff\xfe\x00", b'{"message": "hi"}',
     b'{"sender": "", "message": "hi"}', b'{"sender": "../../etc/passwd", "message": "hi"}',
     b'{"sender": "' + b"a" * 200 + b'", "message": "hi"}', b'{"sender": 42, "message": "hi"}',
     b'{"sender": "a", "message": 42}', b'{"sender": "a", "message": ["hi"]}',
     b'{"sender": "a", "message": "hi", "metadata": "x"}'],
    ids=["cut-json", "list", "string", "no-body", "not-utf8", "no-sender", "empty-sender", "path-sender",
         "long-sender", "number-sender", "number-message", "list-message", "string-metadata"],
)
def test_rest_malformed_requests_get_400(channels, body):
    status, reply = post(channels["rest"].url, body)
    assert status == 400 and "error" in reply


@pytest.mark.model
def test_widget_malformed_events_get_a_notice(channels):
    widget = channels["widget"]
    session = widget.clients[widget.new_sender()]
    for data in ["garbage", 42, None, [], {}, {"message": 42}, {"message": None}, {"message": ["hi"]}]:
        assert session.say(data, raw=True) == [notice("empty")], data
    replies = session.say({"message": "what is fascia massage?", "metadata": "{broken json"}, raw=True)
    assert replies and replies[-1] == DOCTOR


@pytest.mark.model
def test_widget_message_without_a_session_is_ignored(live):
    session = WidgetSession(live.rasa.url, live.origin).open(request_session=False)
    try:
        start = len(session.received)
        session.emit({"message": "hello", "session_id": "bad-input-keeper"})
        time.sleep(2)
        assert session.received[start:] == []
        assert session.sio.connected
    finally:
        session.close()


@pytest.mark.model
@pytest.mark.parametrize("asked", ["bad-input-keeper", "../x", 5, "A" * 32, "f" * 200, {"x": 1}])
def test_widget_sessions_are_issued_by_the_server(live, asked):
    session = WidgetSession(live.rasa.url, live.origin).open(asked=asked)
    try:
        assert session.session_id != asked and len(session.session_id) == 32
        int(session.session_id, 16)
    finally:
        session.close()


@pytest.mark.model
def test_widget_keeps_a_session_it_was_given(live):
    first = WidgetSession(live.rasa.url, live.origin).open()
    first.close()
    again = WidgetSession(live.rasa.url, live.origin).open(asked=first.session_id)
    try:
        assert again.session_id == first.session_id
    finally:
        again.close()


def socketio_connect(url: str, origin: str) -> str:
    """The socket.io handshake over engine.io polling, as a browser on `origin` makes it; returns
    the server's answer to the CONNECT packet ("40..." accepted, "44..." refused)."""
    base, headers = f"{url}/socket.io/?EIO=4&transport=polling", {"Origin": origin}
    with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=30) as response:
        sid = json.loads(response.read().decode()[1:])["sid"]
    connect = urllib.request.Request(f"{base}&sid={sid}", data=b"40", headers={**headers, "Content-Type": "text/plain"})
    urllib.request.urlopen(connect, timeout=30).close()
    with urllib.request.urlopen(urllib.request.Request(f"{base}&sid={sid}", headers=headers), timeout=30) as response:
        return response.read().decode()


@pytest.mark.model
def test_widget_refuses_other_sites(live):
    assert socketio_connect(live.rasa.url, live.origin).startswith("40")
    assert socketio_connect(live.rasa.url, "https://evil.example.test").startswith("44")


FLOOD = 40


@pytest.mark.model
def test_rest_flood_from_one_sender_gets_answers_or_429(live, channels):
    rest, sender = channels["rest"], "bad-input-flood"
    with ThreadPoolExecutor(FLOOD) as pool:
        results = list(pool.map(lambda i: rest.say(sender, f"how do I prepare? {i}"), range(FLOOD)))
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 429} and 200 in statuses and 429 in statuses
    assert all(replies for status, replies in results if status == 200)
    stored = [e for e in live.rasa.tracker(sender)["events"] if e["event"] == "user"]
    assert len(stored) == statuses.count(200)
    status, replies = rest.say(sender, "what is fascia massage?")
    assert status == 200 and replies[-1].endswith(DOCTOR)


@pytest.mark.model
def test_widget_flood_from_one_session_gets_answers_or_a_notice(channels):
    widget = channels["widget"]
    session = widget.clients[widget.new_sender()]
    start = len(session.received)
    for i in range(FLOOD):  # a little apart: engine.io refuses a poll that carries more than 16 packets
        session.emit({"message": f"how do I prepare? {i}", "session_id": session.session_id})
        time.sleep(0.02)
    texts = [m.get("text", "") for m in session.collect(start, quiet=3)]
    assert notice("busy") in texts and DOCTOR in texts
    assert session.say("what is fascia massage?")[-1] == DOCTOR


@pytest.mark.model
def test_telegram_flood_from_one_chat_gets_200s(channels):
    telegram = channels["telegram"]
    chat = int(telegram.new_sender())
    with ThreadPoolExecutor(FLOOD) as pool:
        statuses = list(pool.map(lambda i: telegram.send(fake.text_update(chat, f"how do I prepare? {i}")), range(FLOOD)))
    assert statuses == [200] * FLOOD
    texts = telegram.fake.sent_texts(chat)
    assert notice("busy") in texts and any(text.endswith(DOCTOR) for text in texts)
    status, replies = telegram.say(str(chat), "what is fascia massage?")
    assert status == 200 and replies[-1].endswith(DOCTOR)


@pytest.mark.model
def test_zz_the_server_kept_serving_and_earlier_conversations_are_intact(live, keeper):
    sender, events = keeper
    assert live.rasa.process.poll() is None
    assert live.rasa.tracker(sender)["events"] == events
    status, replies = Rest(live).say(sender, "what are the side effects?")
    assert status == 200 and replies[-1].endswith(DOCTOR)


@pytest.mark.model
def test_zz_no_message_text_in_the_server_log(live):
    log = live.rasa.log.read_text(errors="replace")
    assert MARKER not in log
    assert "how do I prepare?" not in log
