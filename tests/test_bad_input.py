"""Bad input on every channel, against the running server.

REST (HTTP), the widget's socket.io (a socket.io client, as rasa-webchat speaks
it) and Telegram (updates as Telegram posts them) each get empty and
whitespace-only text, 10 000 characters, emoji and other scripts, HTML and
<script>, control characters, malformed requests and a flood from one sender.
Each gets a safe reply or a 4xx, the server keeps serving, conversations that
were stored before are unchanged, and no message text reaches the server log.

Without a model, the channels' own checks run in this process against a real
HTTP server (footcare_testing/servers.py's ChannelApp, with a stand-in for Rasa): who may
use REST, channel-named conversation ids, the 64 KB body limit, metadata and
rate limits, signed widget sessions, and the action server's address.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional

import pytest
import socketio

from channels import inputs
from channels.inputs import MAX_MESSAGE_CHARS, RateLimits, SenderGate, clean_text, notice
from channels.rest import RestInput
from channels.socketio import SessionSigner, SocketIOInput, SocketIOOutput, markdown_lines, safe_links, widget_origins
from channels.telegram import SECRET_HEADER
from footcare_content.knowledge import knowledge
from footcare_server.access_log import RedactQuery
from footcare_testing import fake_telegram as fake
from footcare_testing.servers import WIDGET_SECRET, ActionServer, ChannelApp, request

KB = knowledge()
DOCTOR = KB.doctor_recommendation
NOTICES = set(inputs._notices().values())  # the channels' own short replies
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

    def conversation(self, sender: str) -> str:
        return f"rest:{sender}"

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        status, body = post(self.url, json.dumps({"sender": sender, "message": text}).encode())
        return status, [m.get("text", "") for m in body] if status == 200 else []


class Widget:
    """A socket.io client speaking to the widget channel the way rasa-webchat does."""

    name = "widget"

    def __init__(self, live: Any) -> None:
        self.url, self.origin, self.rasa = live.rasa.url, live.origin, live.rasa
        self.clients: dict[str, "WidgetSession"] = {}

    def new_sender(self) -> str:
        session = WidgetSession(self.url, self.origin, self.rasa).open()
        self.clients[session.session_id] = session
        return session.session_id

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        return 200, self.clients[sender].say(text)

    def conversation(self, sender: str) -> str:
        return f"web:{sender.partition('.')[0]}"  # the session id without its signature

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


class WidgetSession:
    def __init__(self, url: str, origin: str, rasa: Any = None) -> None:
        self.url, self.origin = url, origin
        self.rasa = rasa  # the Rasa server behind the channel; None: a fake agent that echoes each message once
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

    def stored(self) -> tuple[int, int]:
        """(user messages, bot bubbles) stored in this session's conversation (none without Rasa)."""
        if self.rasa is None or not self.session_id:
            return 0, 0
        return self.rasa.stored(f"web:{self.session_id.partition('.')[0]}")

    def answered(self, new: list[dict], before: tuple[int, int], sent: int) -> bool:
        """Whether all `sent` messages have had their answer: a channel notice instead of Rasa, or
        Rasa's turn, stored (Rasa stores a turn after sending its replies) and every bubble of it here."""
        notices = sum(1 for m in new if m.get("text") in NOTICES)
        if self.rasa is None:
            return len(new) >= sent
        users, bubbles = self.stored()
        return users - before[0] + notices >= sent and len(new) - notices == bubbles - before[1]

    def say(self, text: Any, raw: bool = False, timeout: float = 60) -> list[str]:
        start, before = len(self.received), self.stored()
        self.emit(text if raw else {"message": text, "session_id": self.session_id})
        return [m.get("text", "") for m in self.collect(start, lambda new: self.answered(new, before, 1), timeout)]

    def collect(self, start: int, done: Callable[[list[dict]], bool], timeout: float = 60) -> list[dict]:
        """The messages received since `start`, once `done` says they are complete."""
        deadline = time.monotonic() + timeout
        while not done(self.received[start:]):
            assert time.monotonic() < deadline, f"no complete answer in {timeout} s: {self.received[start:]}"
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

    def conversation(self, sender: str) -> str:
        return f"telegram:{sender}"

    def send(self, update: Any) -> int:
        return post(self.url, json.dumps(update).encode(), {SECRET_HEADER: fake.SECRET})[0]

    def say(self, sender: str, text: Any) -> tuple[int, list[str]]:
        before = len(self.fake.sent_texts(sender))
        status = self.send(fake.text_update(int(sender), text))
        return status, self.fake.sent_texts(sender)[before:]


# --- without a model: the checks every channel applies ---------------------------------------
def test_clean_text_drops_control_characters_and_cuts_long_text():
    assert clean_text("heel\x00 pain\x07\x1b[31m\r\nplease\ttoo") == "heel pain[31m\nplease\ttoo"
    assert (
        clean_text("\U0001f9b6 \u200d Fu\u00df \u8db3 \u0623\u0644\u0645")
        == "\U0001f9b6 \u200d Fu\u00df \u8db3 \u0623\u0644\u0645"
    )
    assert MAX_MESSAGE_CHARS == 2000  # what the README promises; the other tests use the name
    assert clean_text("x" * 10_000) == "x" * 2000


def test_sender_gate_lets_a_few_messages_of_one_sender_wait():
    gate = SenderGate(limit=2)
    with gate.admit("a") as first, gate.admit("a") as second, gate.admit("a") as third, gate.admit("b") as other:
        assert (first, second, third, other) == (True, True, False, True)
    with gate.admit("a") as again:
        assert again


def test_sender_gate_sheds_load_by_the_messages_in_flight():
    assert SenderGate(env={}).total == inputs.DEFAULT_IN_FLIGHT
    gate = SenderGate(limit=2, env={"MAX_MESSAGES_IN_FLIGHT": "3"})
    with gate.admit("a") as a, gate.admit("b") as b, gate.admit("c") as c, gate.admit("d") as d:
        assert (a, b, c, d) == (True, True, True, False)
    with gate.admit("d") as later:
        assert later  # the others were answered: room again


def test_the_channels_of_one_server_share_one_gate():
    from types import SimpleNamespace

    app = SimpleNamespace(ctx=SimpleNamespace())
    assert inputs.shared_gate(app) is inputs.shared_gate(app)


def test_widget_origins(monkeypatch):
    monkeypatch.setenv("WIDGET_SESSION_SECRET", WIDGET_SECRET)
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
    assert (
        markdown_lines("Call us:\n\u2022 phone\n\u2022 email\n\nThanks")
        == "Call us:  \n\u2022 phone  \n\u2022 email\n\nThanks"
    )


def test_text_is_cut_before_it_is_cleaned(monkeypatch):
    looked_at = []
    category = inputs.unicodedata.category
    monkeypatch.setattr(inputs.unicodedata, "category", lambda ch: looked_at.append(ch) or category(ch))
    assert clean_text("x" * 1_000_000) == "x" * MAX_MESSAGE_CHARS
    assert len(looked_at) <= MAX_MESSAGE_CHARS


def test_markdown_links_to_scripts_and_data_lose_their_target():
    assert (
        safe_links("see [site](https://clinic.test) or [x](javascript:alert(1))")
        == "see [site](https://clinic.test) or x"
    )
    for text in [
        "[a [b]](JavaScript:alert(1))",
        "[x]( data:text/html;base64,PHNjcmlwdD4=)",
        "[x](jav&#x61;script:alert(1))",
        "<javascript:alert(1)>",
        "[x][1]\n[1]: javascript:alert(1)",
        "[x](vbscript:msgbox)",
    ]:
        assert "script:" not in safe_links(text).lower() and "data:" not in safe_links(text), text
    assert (
        safe_links("[call](tel:+441234) [mail](mailto:a@clinic.test)")
        == "[call](tel:+441234) [mail](mailto:a@clinic.test)"
    )


def test_rate_limits_per_client_and_for_everybody():
    limits = RateLimits(
        {"CLIENT_BURST": "2", "CLIENT_MESSAGES_PER_MINUTE": "60", "ALL_BURST": "3", "ALL_MESSAGES_PER_SECOND": "1"}
    )
    assert [limits.retry_after("a", now=100.0) for _ in range(3)] == [0, 0, 1]
    assert limits.retry_after("b", now=100.0) == 0
    assert limits.retry_after("c", now=100.0) == 1  # everybody's burst of 3 is used up
    assert limits.retry_after("c", now=101.0) == 0  # one refilled after a second
    assert limits.retry_after("a", now=101.0) == 1  # a's own token came back with c's, but the global one did not
    # one IPv6 client is its /64: new addresses in it cost the same
    limits = RateLimits({"CLIENT_BURST": "2", "CLIENT_MESSAGES_PER_MINUTE": "1"})
    assert [limits.retry_after(f"2001:db8:1:2::{i}", now=5.0) for i in range(1, 4)] == [0, 0, 60]
    assert limits.retry_after("2001:db8:1:3::1", now=5.0) == 0


def test_no_fixed_limit_for_everybody_unless_set():
    limits = RateLimits({"CLIENT_BURST": "1000"})
    assert all(limits.retry_after(f"203.0.113.{i % 200}", now=1.0) == 0 for i in range(1000))


def test_a_partners_senders_are_clients_within_the_partners_budget():
    limits = RateLimits(
        {
            "CLIENT_BURST": "2",
            "CLIENT_MESSAGES_PER_MINUTE": "1",
            "PARTNER_BURST": "3",
            "PARTNER_MESSAGES_PER_MINUTE": "60",
        }
    )
    assert [limits.retry_after("s1", now=0.0, partner="token") for _ in range(3)] == [0, 0, 60]
    assert limits.retry_after("s2", now=0.0, partner="token") == 0
    assert limits.retry_after("s3", now=0.0, partner="token") == 1  # the partner's 3 are used up
    assert limits.retry_after("s3", now=1.0, partner="token") == 0  # s3's own token came back, and one refilled
    assert limits.retry_after("s1", now=0.0) == 0  # an address "s1" is another client than the partner's sender s1


def test_client_addresses_and_loopback():
    from types import SimpleNamespace

    def req(ip: str, **headers: str) -> Any:
        return SimpleNamespace(ip=ip, headers=headers)

    assert inputs.is_loopback(req("127.0.0.1")) and inputs.is_loopback(req("::1"))
    assert inputs.is_loopback(req("::ffff:127.0.0.1"))
    assert not inputs.is_loopback(req("10.0.0.4")) and not inputs.is_loopback(req(""))
    assert not inputs.is_loopback(req("127.0.0.1", **{"X-Forwarded-For": "203.0.113.5"}))
    proxies = inputs.trusted_proxies({"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    forwarded = {"X-Forwarded-For": "198.51.100.1, 203.0.113.5, 10.1.2.3"}
    assert inputs.client_address(req("127.0.0.1", **forwarded), proxies) == "203.0.113.5"
    assert inputs.client_address(req("192.0.2.9", **forwarded), proxies) == "192.0.2.9"  # not a trusted proxy
    assert inputs.client_address(req("127.0.0.1", **forwarded), []) == "127.0.0.1"  # no proxies configured


# --- the channels' own checks against a real HTTP server, without a model --------------------------
@pytest.fixture
def rest_app(monkeypatch):
    apps = []

    def start(**env: str) -> ChannelApp:
        for name in ("REST_TOKEN", "TRUSTED_PROXIES", *inputs_env()):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        apps.append(ChannelApp(RestInput()).start())
        return apps[-1]

    yield start
    for app in apps:
        app.stop()


def inputs_env() -> tuple[str, ...]:
    return (
        "CLIENT_BURST",
        "CLIENT_MESSAGES_PER_MINUTE",
        "PARTNER_BURST",
        "PARTNER_MESSAGES_PER_MINUTE",
        "ALL_BURST",
        "ALL_MESSAGES_PER_SECOND",
        "MAX_METADATA_BYTES",
        "MAX_MESSAGES_IN_FLIGHT",
    )


def rest_post(app: ChannelApp, body: Any, headers: Optional[dict] = None) -> tuple[int, dict, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, head, answer = request(f"{app.url}/webhooks/rest/webhook", raw, headers)
    return (
        status,
        head,
        json.loads(answer or b"null") if head.get("content-type", "").startswith("application/json") else answer,
    )


def test_rest_answers_this_machine_only_without_a_token(rest_app):
    app = rest_app()
    status, _, replies = rest_post(app, {"sender": "p1", "message": "hi"})
    assert status == 200 and replies == [{"recipient_id": "p1", "text": "echo: hi"}]
    # what a reverse proxy on this machine forwards is not from this machine
    for header in ({"X-Forwarded-For": "203.0.113.9"}, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
        assert rest_post(app, {"sender": "p1", "message": "hi"}, header)[0] == 403
    assert len(app.agent.messages) == 1


def test_rest_with_a_token_answers_only_its_bearer(rest_app):
    app = rest_app(REST_TOKEN="s3cret-token")
    say = {"sender": "p1", "message": "hi"}
    assert rest_post(app, say)[0] == 403  # loopback, but no token
    assert rest_post(app, say, {"Authorization": "Bearer wrong"})[0] == 403
    assert rest_post(app, say, {"Authorization": "Bearer s3cret-token-and-more"})[0] == 403
    assert rest_post(app, say, {"Authorization": "Basic s3cret-token"})[0] == 403
    assert rest_post(app, say, {"Authorization": "Bearer s3cret-token", "X-Forwarded-For": "203.0.113.9"})[0] == 200
    assert len(app.agent.messages) == 1


def test_rest_conversations_are_named_by_their_channel(rest_app):
    app = rest_app()
    for sender in ("telegram:123456", "123456", "web:0123456789abcdef0123456789abcdef"):
        status, _, replies = rest_post(app, {"sender": sender, "message": "hi"})
        assert status == 200 and replies[0]["recipient_id"] == sender
    assert [m.sender_id for m in app.agent.messages] == [
        "rest:telegram:123456",
        "rest:123456",
        "rest:web:0123456789abcdef0123456789abcdef",
    ]


def test_a_body_over_64_kb_gets_413_before_it_is_read(rest_app):
    app = rest_app()
    big = json.dumps({"sender": "p1", "message": "x" * (70 * 1024)}).encode()
    assert rest_post(app, big)[0] == 413
    # A client that announces 16 MB and sends only the start gets its 413 at once: nothing waits for the body.
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as sock:
        sock.sendall(
            b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 16777216\r\n\r\n{"sender": '
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert rest_post(app, {"sender": "p1", "message": "x" * 60_000})[0] == 200
    assert app.agent.messages[-1].text == "x" * MAX_MESSAGE_CHARS


def test_large_metadata_is_not_kept(rest_app):
    app = rest_app()
    assert rest_post(app, {"sender": "p1", "message": "hi", "metadata": {"page": "/heel-pain"}})[0] == 200
    assert rest_post(app, {"sender": "p1", "message": "hi", "metadata": {"blob": "x" * 20_000}})[0] == 200
    assert [m.metadata for m in app.agent.messages] == [{"page": "/heel-pain"}, None]


def test_rest_clients_and_everybody_are_rate_limited_with_retry_after(rest_app):
    app = rest_app(
        REST_TOKEN="t0ken",
        CLIENT_BURST="3",
        CLIENT_MESSAGES_PER_MINUTE="1",
        PARTNER_BURST="100",
        PARTNER_MESSAGES_PER_MINUTE="1",
        ALL_BURST="5",
        ALL_MESSAGES_PER_SECOND="0.01",
    )

    def partner(sender: str) -> tuple[int, dict]:
        status, head, _ = rest_post(app, {"sender": sender, "message": "hi"}, {"Authorization": "Bearer t0ken"})
        return status, head

    # with a token each sender of the partner is a client of its own ...
    results = [partner("patient-a") for _ in range(4)]
    assert [status for status, _ in results] == [200, 200, 200, 429]
    assert int(results[-1][1]["retry-after"]) >= 1
    # ... and everybody's limit, when set, still holds (5 in all)
    assert [partner("patient-b")[0] for _ in range(3)] == [200, 200, 429]
    assert len(app.agent.messages) == 5


def test_rest_partner_senders_do_not_share_one_clients_limit(rest_app):
    app = rest_app(
        REST_TOKEN="t0ken",
        CLIENT_BURST="2",
        CLIENT_MESSAGES_PER_MINUTE="1",
        PARTNER_BURST="5",
        PARTNER_MESSAGES_PER_MINUTE="1",
    )

    def partner(sender: str) -> int:
        return rest_post(app, {"sender": sender, "message": "hi"}, {"Authorization": "Bearer t0ken"})[0]

    # one address (the partner's server), many patients: each gets the client's budget ...
    assert [partner(f"patient-{i}") for i in range(3)] == [200, 200, 200]
    assert [partner("patient-0"), partner("patient-0")] == [200, 429]
    # ... within the partner's own larger budget (5 here)
    assert [partner("patient-9"), partner("patient-8")] == [200, 429]


def test_rest_clients_without_a_token_are_limited_by_address(rest_app):
    app = rest_app(CLIENT_BURST="2", CLIENT_MESSAGES_PER_MINUTE="1")
    assert [rest_post(app, {"sender": f"new-id-{i}", "message": "hi"})[0] for i in range(3)] == [200, 200, 429]


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "http://localhost:8080"}, 403),  # another port of this machine is another site
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),
        ({"Content-Type": "text/plain"}, 415),  # what a web page's form or fetch may send without asking
        ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
        ({"Content-Type": "application/json; charset=utf-8", "Sec-Fetch-Site": "none"}, 200),
    ],
    ids=["foreign-origin", "other-port", "cross-site", "same-site", "text-plain", "form", "json-typed"],
)
def test_rest_refuses_what_a_web_page_sends(rest_app, headers, status):
    app = rest_app()
    assert rest_post(app, {"sender": "p1", "message": "/restart"}, headers)[0] == status
    assert len(app.agent.messages) == (1 if status == 200 else 0)


def test_the_query_string_is_left_out_of_the_access_log():
    record = logging.LogRecord("sanic.access", logging.INFO, __file__, 1, "", (), None)
    record.request = "GET http://127.0.0.1:5005/model/parse?token=s3cret&x=1"
    RedactQuery().filter(record)
    assert "s3cret" not in record.request and record.request.startswith("GET http://127.0.0.1:5005/model/parse?")


def test_the_refused_call_warning_is_logged_at_most_once_a_minute(rest_app, caplog):
    app = rest_app()
    with caplog.at_level(logging.WARNING, logger="channels.rest"):
        for _ in range(20):
            assert rest_post(app, {"sender": "p1", "message": "hi"}, {"X-Forwarded-For": "203.0.113.9"})[0] == 403
    assert len([r for r in caplog.records if r.name == "channels.rest"]) == 1


def test_the_action_server_listens_on_loopback_only(tmp_path):
    from actions.__main__ import bind_host

    assert bind_host({}) == "127.0.0.1" and bind_host({"ACTION_SERVER_HOST": "0.0.0.0"}) == "0.0.0.0"
    server = ActionServer(tmp_path, env={"ACTION_SERVER_HOST": "", "SANIC_HOST": ""}).start()
    try:
        port = f"{server.port:04X}"
        listening = [
            line.split()[1]
            for line in open("/proc/net/tcp").read().splitlines()[1:]
            if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"
        ]
        listening += [
            line.split()[1]
            for line in open("/proc/net/tcp6").read().splitlines()[1:]
            if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"
        ]
        assert listening == [f"0100007F:{port}"]
    finally:
        server.stop()


# --- the widget's socket.io channel, without a model ----------------------------------------------------
@pytest.fixture
def widget_app(monkeypatch):
    apps = []

    def start(**env: str) -> ChannelApp:
        for name in inputs_env():
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("WIDGET_SESSION_SECRET", WIDGET_SECRET)
        monkeypatch.setenv("WIDGET_ORIGINS", "http://127.0.0.1:8080")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        channel = SocketIOInput.from_credentials(
            {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered", "session_persistence": True}
        )
        apps.append(ChannelApp(channel).start())
        return apps[-1]

    yield start
    for app in apps:
        app.stop()


def widget(app: ChannelApp, asked: Any = None, request_session: bool = True) -> "WidgetSession":
    return WidgetSession(app.url, "http://127.0.0.1:8080").open(asked=asked, request_session=request_session)


def test_widget_session_ids_are_signed_by_the_server():
    signer, other = SessionSigner(b"a" * 32), SessionSigner(b"b" * 32)
    token = signer.issue()
    session, _, signature = token.partition(".")
    assert signer.verify(token) == session and len(session) == len(signature) == 32
    assert other.verify(token) is None  # another secret
    assert signer.verify(session) is None  # the id alone, as an erasure request or a screenshot shows it
    assert signer.verify(session + "." + "0" * 32) is None
    assert signer.verify(SessionSigner(b"a" * 32).issue())  # the same secret: after a restart, on a replica


def test_the_widget_session_secret_is_made_once_and_kept(tmp_path):
    from channels.socketio import session_secret

    env = {"WIDGET_SESSION_SECRET_FILE": str(tmp_path / "secret" / "widget-session-secret")}
    first = session_secret(env)
    assert session_secret(env) == first and len(first) >= 32
    assert oct((tmp_path / "secret" / "widget-session-secret").stat().st_mode & 0o777) == "0o600"
    assert session_secret({"WIDGET_SESSION_SECRET": "x" * 40}) == b"x" * 40
    with pytest.raises(ValueError):
        session_secret({"WIDGET_SESSION_SECRET": "short"})


def test_a_widget_session_is_kept_only_with_its_signature(widget_app):
    app = widget_app()
    first = widget(app)
    try:
        session = first.session_id.partition(".")[0]
        assert first.say("hello") == ["echo: hello"]
        assert app.agent.messages[-1].sender_id == f"web:{session}"
    finally:
        first.close()
    for forged in (session, f"{session}.{'0' * 32}", SessionSigner(b"z" * 32).issue()):
        other = widget(app, asked=forged)
        try:
            assert other.session_id.partition(".")[0] != session
        finally:
            other.close()
    again = widget(app, asked=first.session_id)
    try:
        assert again.session_id == first.session_id
    finally:
        again.close()


def test_a_second_session_request_leaves_the_first_sessions_room(widget_app):
    app = widget_app()
    client = widget(app)
    try:
        first = client.session_id.partition(".")[0]
        client._confirmed.clear()
        client.sio.emit("session_request", {"session_id": None})
        assert client._confirmed.wait(20)
        second = client.session_id.partition(".")[0]
        assert second != first
        output = SocketIOOutput(app.channel.sio, "bot_uttered")
        start = len(client.received)
        app.call(output.send_text_message(f"web:{first}", "for the first session"))
        app.call(output.send_text_message(f"web:{second}", "for the second session"))
        # in order on one connection: a message for the first session would come before this one
        texts = [
            m["text"]
            for m in client.collect(start, lambda new: any(m["text"] == "for the second session" for m in new), 10)
        ]
        assert texts == ["for the second session"]
    finally:
        client.close()


def test_a_widget_message_before_its_session_gets_a_notice(widget_app):
    app = widget_app()
    client = widget(app, request_session=False)
    try:
        assert client.say({"message": "hello", "session_id": "anything"}, raw=True) == [notice("no_session")]
        assert app.agent.messages == []
    finally:
        client.close()


def test_widget_metadata_and_packets_are_limited(widget_app):
    app = widget_app()
    client = widget(app)
    try:
        assert client.say({"message": "hi", "metadata": {"page": "/heel"}}, raw=True) == ["echo: hi"]
        assert client.say({"message": "hi", "metadata": {"blob": "x" * 20_000}}, raw=True) == ["echo: hi"]
        assert [m.metadata for m in app.agent.messages] == [{"page": "/heel"}, None]
    finally:
        client.close()
    packet = ("42" + json.dumps(["user_uttered", {"message": "x" * (100 * 1024)}])).encode()
    # over engine.io's polling: the POST gets a 413 before its body is read
    base, origin = f"{app.url}/socket.io/?EIO=4&transport=polling", {"Origin": "http://127.0.0.1:8080"}
    sid = json.loads(request(base, headers=origin)[2].decode()[1:])["sid"]
    assert request(f"{base}&sid={sid}", b"40", {**origin, "Content-Type": "text/plain"})[0] == 200
    assert request(f"{base}&sid={sid}", packet, {**origin, "Content-Type": "text/plain"})[0] == 413

    # over a websocket: the server closes it
    async def over_websocket() -> Any:
        import websockets

        url = app.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        async with websockets.connect(url, extra_headers=origin, max_size=None) as ws:
            assert (await ws.recv()).startswith("0")
            await ws.send("40")
            assert (await ws.recv()).startswith("40")
            await ws.send(packet.decode())
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 20)
            return closed.value.code

    assert asyncio.run(over_websocket()) == 1000  # engine.io refuses the packet and closes the socket, no server error
    assert len(app.agent.messages) == 2


def test_widget_clients_are_rate_limited_whatever_their_sessions(widget_app):
    app = widget_app(CLIENT_BURST="2", CLIENT_MESSAGES_PER_MINUTE="1")
    clients = [widget(app), widget(app)]
    try:
        assert clients[0].say("one") == ["echo: one"]
        assert clients[1].say("two") == ["echo: two"]  # a new session, the same client
        assert clients[1].say("three") == [notice("slow_down")]
        assert len(app.agent.messages) == 2
    finally:
        for client in clients:
            client.close()


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


@pytest.fixture(autouse=True)
def server_intact(request):
    """After each test on the live servers, whatever ran before it: the server still runs, the
    conversation stored before any bad input is unchanged, and no message text reached its log."""
    if "live" not in request.fixturenames:
        yield
        return
    live, (sender, events) = request.getfixturevalue("live"), request.getfixturevalue("keeper")
    yield
    assert live.rasa.process.poll() is None
    assert live.rasa.tracker(sender)["events"] == events
    log = live.rasa.log.read_text(errors="replace")
    assert MARKER not in log and "how do I prepare?" not in log


@pytest.fixture(scope="module")
def channels(live, keeper):
    clients = {"rest": Rest(live), "widget": Widget(live), "telegram": Telegram(live)}
    yield clients
    clients["widget"].close()


CHANNELS = ["rest", "widget", "telegram"]
LONG = ("My heel hurts every morning when I get up. " * 250)[:10_000]
TEXTS = {
    "emoji": f"\U0001f9b6\U0001f62b my heel hurts {MARKER} \U0001f468\u200d\U0001f469\u200d\U0001f467",
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
    stored = [e["text"] for e in live.rasa.tracker(client.conversation(sender))["events"] if e["event"] == "user"]
    assert len(stored) == 1 and len(stored[0]) <= MAX_MESSAGE_CHARS
    assert "\x00" not in stored[0] and "\x1b" not in stored[0]


@pytest.mark.model
@pytest.mark.parametrize(
    "body",
    [
        b'{"sender": "a", "message": ',
        b"[]",
        b'"hello"',
        b"",
        b"\xff\xfe\x00",
        b'{"message": "hi"}',
        b'{"sender": "", "message": "hi"}',
        b'{"sender": "../../etc/passwd", "message": "hi"}',
        b'{"sender": "' + b"a" * 200 + b'", "message": "hi"}',
        b'{"sender": 42, "message": "hi"}',
        b'{"sender": "a", "message": 42}',
        b'{"sender": "a", "message": ["hi"]}',
        b'{"sender": "a", "message": "hi", "metadata": "x"}',
    ],
    ids=[
        "cut-json",
        "list",
        "string",
        "no-body",
        "not-utf8",
        "no-sender",
        "empty-sender",
        "path-sender",
        "long-sender",
        "number-sender",
        "number-message",
        "list-message",
        "string-metadata",
    ],
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
def test_widget_message_without_a_session_gets_a_notice_and_reaches_nobody(live, keeper):
    session = WidgetSession(live.rasa.url, live.origin, live.rasa).open(request_session=False)
    try:
        assert session.say({"message": "hello", "session_id": "bad-input-keeper"}, raw=True) == [notice("no_session")]
        assert session.sio.connected
        assert live.rasa.tracker(keeper[0])["events"] == keeper[1]
    finally:
        session.close()


@pytest.mark.model
@pytest.mark.parametrize(
    "asked", ["bad-input-keeper", "../x", 5, "A" * 32, "f" * 32, "f" * 32 + "." + "0" * 32, "f" * 200, {"x": 1}]
)
def test_widget_sessions_are_issued_by_the_server(live, asked):
    session = WidgetSession(live.rasa.url, live.origin).open(asked=asked)
    try:
        assert session.session_id != asked
        assert SessionSigner(WIDGET_SECRET.encode()).verify(session.session_id)
    finally:
        session.close()


@pytest.mark.model
def test_the_rasa_server_refuses_big_bodies_before_reading_them_and_drops_big_metadata(live, channels):
    for path in ("/webhooks/rest/webhook", "/webhooks/telegram/webhook", "/socket.io/?EIO=4&transport=polling"):
        with socket.create_connection(("127.0.0.1", live.rasa.port), timeout=10) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-Length: 16777216\r\n\r\n{".encode()
            )
            assert sock.recv(100).startswith(b"HTTP/1.1 413"), path
    sender = channels["rest"].new_sender()
    status, _ = post(
        channels["rest"].url,
        json.dumps(
            {"sender": sender, "message": "what is fascia massage?", "metadata": {"blob": "x" * 30_000}}
        ).encode(),
    )
    assert status == 200
    user = [e for e in live.rasa.tracker(sender)["events"] if e["event"] == "user"]
    assert len(user) == 1 and "blob" not in json.dumps(user[0].get("metadata") or {})


@pytest.mark.model
def test_rest_cannot_speak_for_a_telegram_chat_or_a_widget_session(live, channels):
    telegram = channels["telegram"]
    chat = telegram.new_sender()
    assert telegram.say(chat, "I have plantar fasciitis. What is fascia massage?")[0] == 200
    stored = live.rasa.tracker(f"telegram:{chat}")["events"]
    rest = channels["rest"]
    for forged in (chat, f"telegram:{chat}"):
        status, _ = rest.say(forged, "/restart")
        assert status == 200
    assert live.rasa.tracker(f"telegram:{chat}")["events"] == stored


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
    start, before = len(session.received), session.stored()
    for i in range(FLOOD):  # a little apart: engine.io refuses a poll that carries more than 16 packets
        session.emit({"message": f"how do I prepare? {i}", "session_id": session.session_id})
        time.sleep(0.02)
    texts = [m.get("text", "") for m in session.collect(start, lambda new: session.answered(new, before, FLOOD), 120)]
    assert notice("busy") in texts and DOCTOR in texts
    assert session.say("what is fascia massage?")[-1] == DOCTOR


@pytest.mark.model
def test_telegram_flood_from_one_chat_gets_200s(channels):
    telegram = channels["telegram"]
    chat = int(telegram.new_sender())
    with ThreadPoolExecutor(FLOOD) as pool:
        statuses = list(
            pool.map(lambda i: telegram.send(fake.text_update(chat, f"how do I prepare? {i}")), range(FLOOD))
        )
    assert statuses == [200] * FLOOD
    texts = telegram.fake.sent_texts(chat)
    assert notice("busy") in texts and any(text.endswith(DOCTOR) for text in texts)
    status, replies = telegram.say(str(chat), "what is fascia massage?")
    assert status == 200 and replies[-1].endswith(DOCTOR)


@pytest.mark.model
def test_the_conversation_stored_before_goes_on(live, keeper):
    sender, events = keeper
    status, replies = Rest(live).say(sender, "what are the side effects?")
    assert status == 200 and replies[-1].endswith(DOCTOR)
    stored = live.rasa.tracker(sender)["events"]
    assert stored[: len(events)] == events
    events[:] = stored  # what the tests after this one compare with
