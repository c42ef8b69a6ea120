"""At the default log level, neither server writes what users typed or who they are.

A conversation with a unique word, a phone number and an email address runs
through the real servers (footcare_testing/servers.py); both servers' logs must hold none
of them, nor the sender id. The same holds when a turn fails because the action
server fails: its actions crash (rasa-sdk then answers with the whole
conversation in the error body, which Rasa logs) or it is down.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from footcare_testing.servers import ActionServer, RasaServer, post_json

PHONE, EMAIL = "+44 7700 900123", "jane.doe@example.org"


def conversation() -> tuple[str, list[str], list[str]]:
    """A sender id, the messages, and every string that must not reach the logs."""
    marker = f"zebracorn{uuid.uuid4().hex[:8]}"
    sender = f"logcheck-{uuid.uuid4().hex[:12]}"
    messages = [
        f"hello, my heel has hurt since the {marker} race",
        f"I have plantar fasciitis, please call me on {PHONE}",
        f"my email is {EMAIL}, I have numbness in my toes",
        f"<b>{marker}</b> what are the side effects?",
    ]
    secrets = [marker, PHONE, "7700 900123", EMAIL, "jane.doe", sender]
    return sender, messages, secrets


def logs_of(workdir: Path, port: int) -> str:
    """Both servers' logs in a stack's folder."""
    texts = [(workdir / f"rasa-{port}.log").read_text(errors="replace")]
    texts += [p.read_text(errors="replace") for p in sorted(workdir.glob("action-server-*.log"))]
    return "\n".join(texts)


def assert_private(logs: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in logs]
    context = {s: logs[max(0, logs.find(s) - 200) : logs.find(s) + 100] for s in leaked}
    assert not leaked, f"found in the logs: {context}"


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory):
    """Action server + Rasa server with the project's REST channel (channels.rest), as `make run` has it."""
    workdir = tmp_path_factory.mktemp("log-privacy")
    actions = ActionServer(workdir).start()
    rasa = RasaServer(workdir, actions.url, credentials={"channels.rest.RestInput": None})
    try:
        rasa.start()
        yield rasa, actions
    finally:
        rasa.stop()
        actions.stop()


@pytest.mark.model
def test_default_level_logs_hold_no_message_text_or_personal_details(private_stack):
    rasa, _ = private_stack
    sender, messages, secrets = conversation()
    for message in messages:
        assert rasa.say(sender, message)
    logs = logs_of(rasa.workdir, rasa.port)
    # The servers ran at their default level (INFO): their start-up lines are there.
    assert "Rasa server is up and running" in logs
    assert "Action endpoint is up and running" in logs
    assert_private(logs, secrets)


@pytest.mark.model
def test_failed_turns_log_no_message_text_or_personal_details(private_stack):
    """An action that crashes (rasa-sdk's own error handler would send the whole tracker back,
    and Rasa would log it), then no action server at all."""
    rasa, actions = private_stack
    sender, messages, secrets = conversation()
    for message in messages[:3]:
        assert rasa.say(sender, message)
    # A slot value the actions cannot handle (a list as the condition) makes action_answer raise;
    # the conversation so far, with the phone number and email address, is in the tracker it gets.
    post_json(
        f"{rasa.url}/conversations/rest:{sender}/tracker/events?token={rasa.api_token}",
        {"event": "slot", "name": "condition", "value": ["not", "a", "condition"]},
    )
    assert rasa.say(sender, "what are the side effects of fascia massage?")  # the never-silent guard answers
    logs = logs_of(rasa.workdir, rasa.port)
    assert "A custom action failed: " in logs, "the action did not crash: find another way to make it fail"
    actions.stop()
    try:
        assert rasa.say(sender, messages[3])
    finally:
        actions.start()
    logs = logs_of(rasa.workdir, rasa.port)
    assert "Couldn't connect" in logs
    assert_private(logs, secrets)


@pytest.mark.model
def test_shared_stack_logs_hold_no_message_text(stack):
    """The same on the stack the other model tests use (Rasa's own REST channel)."""
    sender, messages, secrets = conversation()
    for message in messages:
        stack.say(sender, message)
    assert_private(logs_of(stack.workdir, stack.port), secrets)


def test_action_server_errors_name_no_conversation_data(caplog):
    """rasa-sdk finds rasa_sdk_plugins, whose error handler replaces the one that echoes the request."""
    import asyncio
    import json
    import logging

    from rasa_sdk.plugin import plugin_manager
    from sanic import Sanic

    import rasa_sdk_plugins

    app = Sanic(f"privacy_check_{uuid.uuid4().hex[:6]}", configure_logging=False)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    assert app.error_handler.cached_handlers[(Exception, None)] is rasa_sdk_plugins.private_error

    try:
        raise KeyError(f"call me on {PHONE}")
    except KeyError as exc:
        error = exc
    with caplog.at_level(logging.INFO):
        reply = asyncio.run(rasa_sdk_plugins.private_error(object(), error))
    assert reply.status == 500
    assert json.loads(reply.body) == {"error": "the action server failed (KeyError)"}
    assert "A custom action failed: KeyError at " in caplog.text and PHONE not in caplog.text


@pytest.mark.model
def test_the_api_token_stays_out_of_the_access_log(tmp_path):
    """With Sanic's access log on (LOG_LEVEL_LIBRARIES=INFO), the HTTP API's ?token= is not written."""
    import urllib.request

    rasa = RasaServer(
        tmp_path,
        None,
        credentials={"channels.rest.RestInput": None},
        api_token="api-token-zebracorn",
        env={"LOG_LEVEL_LIBRARIES": "INFO"},
    )
    try:
        rasa.start()
        with urllib.request.urlopen(f"{rasa.url}/status?token={rasa.api_token}", timeout=30) as response:
            assert response.status == 200
        assert rasa.parse("hello")["intent"]["name"]
        log = rasa.log.read_text(errors="replace")
        assert "/status?[query left out]" in log  # the access log is on, and leaves the query out
        assert rasa.api_token not in log
    finally:
        rasa.stop()
