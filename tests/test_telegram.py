"""The Telegram channel (channels/telegram.py).

Without a model: how updates are read, how replies are shaped, the Bot API
client against the fake Bot API, and that the channel stays off (and offline)
without a token.
With the model (`-m model`): the real Rasa server with this channel, set up by
the environment variables a clinic sets, against a fake Bot API on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest

from actions import safety
from actions.dialogue import shown
from channels import telegram as tg
from channels.inputs import notice
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge
from footcare_testing import fake_telegram as fake
from footcare_testing.fake_telegram import FakeTelegram

KB = knowledge()
DOCTOR = KB.doctor_recommendation
TELEGRAM_ENV = (
    "TELEGRAM_TOKEN",
    "TELEGRAM_SECRET_TOKEN",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_BOT_NAME",
    "TELEGRAM_API_URL",
)


def greeting() -> str:
    return KB.messages["greet"].format(**clinic().placeholders()).strip()


# --- without a model ------------------------------------------------------------------------
@pytest.fixture
def no_telegram_env(monkeypatch):
    for name in TELEGRAM_ENV:
        monkeypatch.delenv(name, raising=False)


def test_off_without_a_token_and_never_touches_the_network(no_telegram_env, monkeypatch):
    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the Telegram channel opened a connection while off")

    monkeypatch.setattr(tg.aiohttp, "ClientSession", no_network)
    channel = tg.TelegramInput.from_credentials(None)
    blueprint = channel.blueprint(lambda message: None)
    assert not channel.settings.enabled
    assert channel.get_output_channel() is None
    # nothing runs at start-up but what every channel sets: the body size limit and the shared gate
    assert [listener.listener.__name__ for listener in blueprint._future_listeners] == ["limit", "share"]


def test_a_token_without_a_secret_token_refuses_to_start(no_telegram_env, monkeypatch):
    from rasa.shared.exceptions import RasaException

    monkeypatch.setenv("TELEGRAM_TOKEN", fake.TOKEN)
    with pytest.raises(RasaException, match="TELEGRAM_SECRET_TOKEN"):
        tg.TelegramInput.from_credentials(None)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "has spaces")
    with pytest.raises(RasaException, match="TELEGRAM_SECRET_TOKEN"):
        tg.TelegramInput.from_credentials(None)


def test_settings_come_from_the_environment(no_telegram_env, monkeypatch):
    monkeypatch.setenv("TELEGRAM_TOKEN", fake.TOKEN)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", fake.SECRET)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://assistant.example-clinic.test/webhooks/telegram/webhook")
    monkeypatch.setenv("TELEGRAM_BOT_NAME", "@" + fake.BOT_NAME)
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    channel = tg.TelegramInput.from_credentials({"access_token": "ignored"})
    assert channel.settings == tg.TelegramSettings(
        token=fake.TOKEN,
        secret_token=fake.SECRET,
        bot_name=fake.BOT_NAME,
        api_url="http://127.0.0.1:8081",
        webhook_url="https://assistant.example-clinic.test/webhooks/telegram/webhook",
    )
    assert isinstance(channel.get_output_channel(), tg.TelegramOutput)


CHAT = 4242


@pytest.mark.parametrize(
    "update, expected",
    [
        (fake.text_update(CHAT, "How do I prepare?"), tg.Incoming(chat_id=CHAT, text="How do I prepare?")),
        (fake.text_update(CHAT, "/start"), tg.Incoming(chat_id=CHAT, text="/greet")),
        (fake.text_update(CHAT, "/start campaign42"), tg.Incoming(chat_id=CHAT, text="/greet")),
        (fake.text_update(CHAT, f"/help@{fake.BOT_NAME}"), tg.Incoming(chat_id=CHAT, text="/greet")),
        (fake.text_update(CHAT, "/start@some_other_bot"), None),
        (fake.text_update(CHAT, "/restart"), tg.Incoming(chat_id=CHAT, notice="unknown_command")),
        (fake.text_update(CHAT, "/ask_side_effects"), tg.Incoming(chat_id=CHAT, notice="unknown_command")),
        (fake.text_update(CHAT, "   "), tg.Incoming(chat_id=CHAT, notice="empty")),
        (fake.sticker_update(CHAT), tg.Incoming(chat_id=CHAT, notice="text_only")),
        (fake.photo_update(CHAT, caption="my heel"), tg.Incoming(chat_id=CHAT, notice="text_only")),
        (fake.edited_update(CHAT, "how do i prepare"), tg.Incoming(chat_id=CHAT, notice="edited")),
        (fake.group_update(-100123, "hello"), None),
        ({"update_id": 1, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}}}, None),
        ({"update_id": 1, "message": {"text": "no chat"}}, None),
        ({"update_id": 1, "message": {"chat": {"id": "42", "type": "private"}, "text": "id is a string"}}, None),
        ([], None),
        ("a string", None),
    ],
    ids=[
        "text",
        "start",
        "start-with-parameter",
        "help-with-bot-name",
        "other-bot",
        "restart",
        "typed-payload",
        "blank",
        "sticker",
        "photo",
        "edited",
        "group",
        "member-update",
        "no-chat",
        "bad-chat-id",
        "list",
        "string",
    ],
)
def test_read_update(update, expected):
    assert tg.read_update(update, fake.BOT_NAME) == expected


def test_a_button_press_is_answered_and_its_payload_goes_to_the_assistant():
    update = fake.callback_update(CHAT, "/ask_side_effects")
    incoming = tg.read_update(update, fake.BOT_NAME)
    assert incoming == tg.Incoming(chat_id=CHAT, text="/ask_side_effects", callback_id=update["callback_query"]["id"])
    forged = fake.callback_update(CHAT, "anything <b>else</b>")
    assert tg.read_update(forged) == tg.Incoming(callback_id=forged["callback_query"]["id"])


def test_buttons_become_an_inline_keyboard():
    buttons = [{"title": f"Topic {i}", "payload": f"/intent_{i}"} for i in range(5)]
    buttons.append({"title": "Too long", "payload": "/" + "x" * 80})
    keyboard = tg.inline_keyboard(buttons)
    assert keyboard == {
        "inline_keyboard": [
            [{"text": "Topic 0", "callback_data": "/intent_0"}, {"text": "Topic 1", "callback_data": "/intent_1"}],
            [{"text": "Topic 2", "callback_data": "/intent_2"}, {"text": "Topic 3", "callback_data": "/intent_3"}],
            [{"text": "Topic 4", "callback_data": "/intent_4"}],
        ]
    }
    assert tg.inline_keyboard([]) is None


def test_long_replies_are_split_at_paragraphs():
    paragraphs = ["word " * 300] * 5  # 1 500 characters each
    chunks = tg.split_text("\n\n".join(paragraphs))
    assert all(0 < len(chunk) <= tg.MAX_TEXT for chunk in chunks)
    assert len(chunks) == 3
    assert tg.split_text("x" * 9000) == ["x" * 4000, "x" * 4000, "x" * 1000]


def test_the_bot_api_client_against_the_fake_server():
    server = FakeTelegram().start()
    try:
        settings = tg.TelegramSettings(token=fake.TOKEN, secret_token=fake.SECRET, api_url=server.url)

        async def scenario() -> None:
            api = tg.BotAPI(settings)
            output = tg.TelegramOutput(api)
            await output.send_text_with_buttons("77", "Hello\n\nthere", [{"title": "A", "payload": "/a"}])
            server.failures["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
            await output.send_text_message("77", "not delivered, and no exception")
            await api.close()
            wrong = tg.BotAPI(tg.TelegramSettings(token="1:wrong", secret_token="s", api_url=server.url))
            with pytest.raises(tg.TelegramError) as error:
                await wrong.call("getMe")
            assert "401" in str(error.value) and "wrong" not in str(error.value)
            await wrong.close()

        asyncio.run(scenario())
        sent = server.recorded("sendMessage", chat_id=77)
        assert sent[0].params == {
            "chat_id": 77,
            "text": "Hello\n\nthere",
            "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "/a"}]]},
        }
        assert len(sent) == 2
    finally:
        server.stop()


def test_an_unreachable_bot_api_is_an_error_without_the_token():
    from footcare_testing.servers import free_port

    settings = tg.TelegramSettings(
        token=fake.TOKEN, secret_token=fake.SECRET, api_url=f"http://127.0.0.1:{free_port()}"
    )

    async def scenario() -> str:
        api = tg.BotAPI(settings, timeout=3)
        try:
            await api.call("getMe")
        except tg.TelegramError as error:
            return str(error)
        finally:
            await api.close()
        return ""

    message = asyncio.run(scenario())
    assert message.startswith("getMe: ") and fake.TOKEN not in message


@pytest.mark.parametrize(
    "url, allowed",
    [
        ("https://api.telegram.org", True),
        ("https://bot-api.clinic.test:8443/x", True),
        ("http://127.0.0.1:8081", True),
        ("http://localhost:8081", True),
        ("http://[::1]:8081", True),
        ("http://api.telegram.org", False),
        ("http://10.0.0.5:8081", False),
        ("http://127.0.0.1.evil.test", False),
        ("http://user@127.0.0.1:1", False),
        ("ftp://api.telegram.org", False),
        ("api.telegram.org", False),
    ],
)
def test_the_bot_api_must_be_https_or_on_this_machine(url, allowed):
    settings = tg.TelegramSettings(token=fake.TOKEN, secret_token=fake.SECRET, api_url=url)
    assert (not settings.problems()) == allowed
    if not allowed:
        with pytest.raises(tg.RasaException):
            tg.TelegramInput(settings)


def test_button_payloads_are_known_intents_without_entities():
    intents = ["greet", "ask_side_effects", "inform_condition"]
    for data in [
        '/inform_condition{"condition": "heel_spur"}',
        "/inform_condition{}",
        "/restart",
        "/nlu_fallback",
        "/ask_side_effects extra",
        "ask_side_effects",
    ]:
        update = fake.callback_update(CHAT, data)
        assert tg.read_update(update, fake.BOT_NAME, intents) == tg.Incoming(
            callback_id=update["callback_query"]["id"]
        ), data
    update = fake.callback_update(CHAT, "/ask_side_effects")
    assert tg.read_update(update, fake.BOT_NAME, intents).text == "/ask_side_effects"


def test_a_pressed_restart_is_refused_like_a_typed_one():
    from rasa.shared.core.constants import DEFAULT_INTENTS

    intents = ["greet", "ask_side_effects", *DEFAULT_INTENTS]  # a loaded domain lists Rasa's own intents too
    for data in ("/restart", "/back", "/session_start"):
        update = fake.callback_update(CHAT, data)
        assert tg.read_update(update, fake.BOT_NAME, intents) == tg.Incoming(
            callback_id=update["callback_query"]["id"]
        ), data
    assert tg.read_update(fake.text_update(CHAT, "/restart"), fake.BOT_NAME, intents).notice == "unknown_command"


# --- the channel in this process against the fake Bot API (no model) ----------------------------
@pytest.fixture
def channel_app(no_telegram_env):
    from footcare_testing.servers import ChannelApp, FakeAgent

    started: list = []
    server = FakeTelegram().start()

    def start(agent: Optional[FakeAgent] = None) -> tuple[ChannelApp, FakeTelegram]:
        settings = tg.TelegramSettings(
            token=fake.TOKEN,
            secret_token=fake.SECRET,
            api_url=server.url,
            webhook_url="https://assistant.clinic.test/webhooks/telegram/webhook",
        )
        channel = tg.TelegramInput(settings)
        channel.retry_delays = (0.01, 0.02, 0.04)
        started.append(ChannelApp(channel, agent or FakeAgent(intents=["greet", "ask_side_effects"])).start())
        return started[-1], server

    yield start
    for app in started:
        app.stop()
    server.stop()


def send_update(app: Any, update: Any, secret: Optional[str] = fake.SECRET) -> int:
    from footcare_testing.servers import request

    headers = {tg.SECRET_HEADER: secret} if secret is not None else {}
    return request(f"{app.url}/webhooks/telegram/webhook", json.dumps(update).encode(), headers)[0]


def test_conversations_are_named_telegram_and_the_reply_goes_to_the_chat(channel_app):
    app, server = channel_app()
    assert send_update(app, fake.text_update(CHAT, "hello")) == 200
    assert app.agent.messages[-1].sender_id == f"telegram:{CHAT}"
    assert server.sent_texts(CHAT) == ["echo: hello"]


def test_a_reply_telegram_refuses_for_a_while_is_sent_again(channel_app):
    app, server = channel_app()
    server.failures["sendMessage"] = (502, "Bad Gateway", 2)
    assert send_update(app, fake.text_update(CHAT, "hello")) == 200
    assert server.sent_texts(CHAT)[-1] == "echo: hello"
    assert len(server.recorded("sendMessage", CHAT)) == 3


def test_what_telegram_never_took_is_recorded_in_the_conversation(channel_app):
    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered

    from footcare_testing.servers import FakeAgent

    domain = Domain.from_dict({"intents": ["greet"]})
    tracker_store, lock_store = InMemoryTrackerStore(domain), InMemoryLockStore()

    async def reply(message: Any) -> None:  # like Rasa: the turn is stored, then its two replies are sent
        tracker = await tracker_store.get_or_create_tracker(message.sender_id)
        for text in ("Urgent: see a doctor today.", "More about it."):
            tracker.update(BotUttered(text))
        await tracker_store.save(tracker)
        for text in ("Urgent: see a doctor today.", "More about it."):
            await message.output_channel.send_response(message.sender_id, {"text": text})

    app, server = channel_app(FakeAgent(reply, intents=["greet"], lock_store=lock_store, tracker_store=tracker_store))
    server.failures["sendMessage"] = (500, "Internal Server Error", 10)
    assert send_update(app, fake.text_update(CHAT, "my foot is numb")) == 200
    assert len(server.recorded("sendMessage", CHAT)) == 4  # the first reply, tried four times; the second never
    tracker = app.call(tracker_store.retrieve(f"telegram:{CHAT}"))
    last = tracker.events[-1]
    assert isinstance(last, BotUttered) and last.text is None
    assert last.metadata["undelivered"] == ["Urgent: see a doctor today.", "More about it."]


def test_refused_calls_are_logged_at_most_once_a_minute(channel_app, caplog):
    app, _ = channel_app()
    with caplog.at_level("WARNING", logger="channels.telegram"):
        assert [send_update(app, fake.text_update(CHAT, "hi"), secret="wrong") for _ in range(20)] == [403] * 20
    assert len([r for r in caplog.records if "secret token" in r.getMessage()]) == 1


def test_an_update_is_answered_once_across_replicas(channel_app):
    from footcare_server.locks import AtomicRedisLockStore
    from footcare_testing.datastores import Redis, start_or_explain
    from footcare_testing.servers import FakeAgent

    redis = start_or_explain(Redis)
    try:

        def replica() -> Any:
            lock_store = AtomicRedisLockStore(host="127.0.0.1", port=redis.port, key_prefix="footcare")
            return channel_app(FakeAgent(intents=["greet"], lock_store=lock_store))[0]

        first, second = replica(), replica()
        update = fake.text_update(CHAT, "hello")
        assert send_update(first, update) == 200 and send_update(second, update) == 200
        assert len(first.agent.messages) + len(second.agent.messages) == 1
        other = fake.text_update(CHAT, "hello again")
        assert send_update(second, other) == 200 and len(second.agent.messages) == 1
    finally:
        redis.remove()


# --- the real server against the fake Bot API -----------------------------------------------
def post_update(
    rasa_url: str, update: Any, secret: Optional[str] = fake.SECRET, raw: Optional[bytes] = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[tg.SECRET_HEADER] = secret
    body = raw if raw is not None else json.dumps(update).encode()
    request = urllib.request.Request(f"{rasa_url}/webhooks/telegram/webhook", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def bot(channels_stack):
    return channels_stack


_chats = itertools.count(700_000_001)


def new_chat() -> int:
    return next(_chats)


@pytest.mark.model
def test_the_webhook_is_set_with_the_secret_token_at_start_up(bot):
    calls = bot.telegram.wait_for(lambda: bot.telegram.recorded("setWebhook"))
    assert calls[0].params["url"] == "https://assistant.example-clinic.test/webhooks/telegram/webhook"
    assert calls[0].params["secret_token"] == fake.SECRET
    assert set(calls[0].params["allowed_updates"]) == {"message", "edited_message", "callback_query"}
    assert not bot.telegram.recorded("getMe")  # no call to Telegram per message


@pytest.mark.model
def test_start_greets_with_the_topics_as_an_inline_keyboard(bot):
    chat = new_chat()
    assert post_update(bot.rasa.url, fake.text_update(chat, "/start")) == (200, {"ok": True})
    sent = bot.telegram.recorded("sendMessage", chat)
    assert len(sent) == 1
    assert sent[0].params["text"] == greeting()
    keys = [key for row in sent[0].params["reply_markup"]["inline_keyboard"] for key in row]
    assert {"text": KB.topics["preparation"].title, "callback_data": "/ask_preparation"} in keys
    assert "parse_mode" not in sent[0].params  # plain text: nothing in a reply is read as markup


@pytest.mark.model
def test_a_question_gets_one_answer_with_the_doctor_recommendation_in_the_right_chat(bot):
    chat, other = new_chat(), new_chat() + 1
    before = len(bot.telegram.recorded("sendMessage"))
    status, _ = post_update(
        bot.rasa.url, fake.text_update(chat, "How should I prepare for my first fascia massage session?")
    )
    assert status == 200
    texts = bot.telegram.sent_texts(chat)
    assert len(texts) == 1
    assert shown(KB.topics["preparation"].answer) in texts[0]
    assert texts[0].endswith(DOCTOR)
    assert len(bot.telegram.recorded("sendMessage")) == before + 1
    assert not bot.telegram.sent_texts(other)


@pytest.mark.model
def test_a_red_flag_gets_urgent_advice_first(bot):
    chat = new_chat()
    post_update(bot.rasa.url, fake.text_update(chat, "My foot went numb and my toes look blue. Can I massage it?"))
    text = bot.telegram.sent_texts(chat)[-1]
    first = text.split("\n\n")[0]
    assert first.startswith(safety.texts().levels["emergency"].action.format(**clinic().placeholders()))
    assert text.endswith(safety.texts().levels["emergency"].closing)  # an emergency closes with its own line


@pytest.mark.model
def test_a_button_press_is_acknowledged_and_answered(bot):
    chat = new_chat()
    update = fake.callback_update(chat, "/ask_side_effects", message_text=greeting())
    assert post_update(bot.rasa.url, update)[0] == 200
    answered = bot.telegram.recorded("answerCallbackQuery")
    assert update["callback_query"]["id"] in [c.params["callback_query_id"] for c in answered]
    text = bot.telegram.sent_texts(chat)[-1]
    assert shown(KB.topics["side_effects"].answer) in text and text.endswith(DOCTOR)


@pytest.mark.model
@pytest.mark.parametrize("secret", [None, "", "wrong-secret", fake.SECRET + "x", fake.SECRET[:-1]])
def test_a_forged_update_is_refused_and_gets_no_reply(bot, secret):
    chat = new_chat()
    status, _ = post_update(bot.rasa.url, fake.text_update(chat, "/start"), secret=secret)
    assert status == 403
    assert not bot.telegram.recorded(chat_id=chat)


@pytest.mark.model
@pytest.mark.parametrize(
    "make, key",
    [
        (fake.sticker_update, "text_only"),
        (lambda chat: fake.photo_update(chat, caption="this is my heel"), "text_only"),
        (lambda chat: fake.edited_update(chat, "how do I prepare?"), "edited"),
        (lambda chat: fake.text_update(chat, " "), "empty"),
        (lambda chat: fake.text_update(chat, "/restart"), "unknown_command"),
    ],
    ids=["sticker", "photo", "edited", "empty", "unknown-command"],
)
def test_unsupported_updates_get_a_short_notice(bot, make, key):
    chat = new_chat()
    assert post_update(bot.rasa.url, make(chat)) == (200, {"ok": True})
    assert bot.telegram.sent_texts(chat) == [notice(key)]


@pytest.mark.model
@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"text"',
        b"{}",
        json.dumps(fake.group_update(-100777, "/start")).encode(),
        json.dumps({"update_id": 5, "message": {"text": "no chat"}}).encode(),
    ],
    ids=["list", "string", "empty-object", "group", "no-chat"],
)
def test_updates_of_another_shape_get_200_and_nothing(bot, body):
    before = len(bot.telegram.recorded("sendMessage"))
    assert post_update(bot.rasa.url, None, raw=body) == (200, {"ok": True})
    assert len(bot.telegram.recorded("sendMessage")) == before


@pytest.mark.model
@pytest.mark.parametrize(
    "body",
    [b"{not json", "\U0001f9b6".encode(), b"[" * 30_000 + b"]" * 30_000, b'{"a":' * 6_000 + b"1" + b"}" * 6_000],
    ids=["broken-json", "emoji-body", "deep-list", "deep-object"],
)
def test_unreadable_json_gets_400_and_nothing(bot, body):
    before = len(bot.telegram.recorded("sendMessage"))
    status, _ = post_update(bot.rasa.url, None, raw=body)
    assert status == 400
    assert len(bot.telegram.recorded("sendMessage")) == before


@pytest.mark.model
def test_an_update_sent_twice_is_answered_once(bot):
    chat = new_chat()
    update = fake.text_update(chat, "/start")
    post_update(bot.rasa.url, update)
    post_update(bot.rasa.url, update)
    assert len(bot.telegram.sent_texts(chat)) == 1


@pytest.mark.model
def test_a_failing_bot_api_still_gets_telegram_a_200(bot):
    chat = new_chat()
    bot.telegram.failures["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
    assert post_update(bot.rasa.url, fake.text_update(chat, "what is fascia massage?")) == (200, {"ok": True})
    post_update(bot.rasa.url, fake.text_update(chat, "/start"))
    assert bot.telegram.sent_texts(chat)[-1] == greeting()


@pytest.mark.model
def test_the_channel_is_healthy(bot):
    with urllib.request.urlopen(f"{bot.rasa.url}/webhooks/telegram/", timeout=10) as response:
        assert json.loads(response.read()) == {"status": "ok"}
