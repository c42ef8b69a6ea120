"""Starts the real action server and Rasa server for the integration tests and the benchmark.

Each stack runs on free loopback ports with its own endpoints and credentials
files in a temporary folder, and is stopped (and its logs kept) at the end.
Their rate limits are raised far above the shipped defaults (the suites send
many messages from one address; the limits have their own tests), and the
widget's session secret is a fixed test value.

`ChannelApp` runs one of the project's input channels in this process, in a
Sanic app on a loopback port, with a stand-in for Rasa's agent: the channel's
own checks are tested against a real HTTP server without a trained model.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "footcare.tar.gz"
RASA = str(Path(sys.executable).parent / "rasa")
# Rasa's command line with footcare_server's changes installed first, as `make run` starts it.
RASA_COMMAND = [sys.executable, "-m", "footcare_server"]
WIDGET_SECRET = "test-widget-session-secret-0123456789abcdef"
# Limits far above the shipped defaults, for suites that send many messages from 127.0.0.1.
TEST_LIMITS = {
    "CLIENT_MESSAGES_PER_MINUTE": "100000",
    "CLIENT_BURST": "10000",
    "ALL_MESSAGES_PER_SECOND": "100000",
    "ALL_BURST": "10000",
}
# The same settings empty: each limit at its shipped default (channels/inputs.py).
SHIPPED_LIMITS = {name: "" for name in TEST_LIMITS}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited with {process.returncode}\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s\n{tail(log)}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def default_tracker_store(workdir: Path) -> dict[str, Any]:
    """endpoints.yml's tracker store (the SQLite one `make run` uses), on a file in `workdir`."""
    store = dict(yaml.safe_load((ROOT / "endpoints.yml").read_text())["tracker_store"])
    store["db"] = str(workdir / "conversations.db")
    return store


def base_env(**extra: str) -> dict[str, str]:
    env = {**TEST_LIMITS, "WIDGET_SESSION_SECRET": WIDGET_SECRET, **os.environ}
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    env.update(extra)
    return env


class _Server:
    """A server process of the project on a loopback port, its output in `log`."""

    process: Optional[subprocess.Popen] = None
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _launch(self, args: list[str], ready_url: str, env: dict[str, str], timeout: float = 180) -> None:
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=base_env(**env),
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(ready_url, self.process, self.log, timeout)

    def stop(self) -> None:
        stop_process(self.process)


class ActionServer(_Server):
    def __init__(self, workdir: Path, port: Optional[int] = None, env: Optional[dict[str, str]] = None) -> None:
        self.workdir, self.port = workdir, port or free_port()
        self.env = env or {}
        self.log = workdir / f"action-server-{self.port}.log"

    def start(self) -> "ActionServer":
        self._launch([sys.executable, "-m", "actions", "--port", str(self.port)], f"{self.url}/health", self.env)
        return self


class RasaServer(_Server):
    """`rasa run` with REST (and whatever else `credentials` names) on a free port."""

    def __init__(
        self,
        workdir: Path,
        action_url: Optional[str],
        *,
        tracker_store: Optional[dict[str, Any]] = None,
        lock_store: Optional[dict[str, Any]] = None,
        credentials: Optional[dict[str, Any]] = None,
        port: Optional[int] = None,
        env: Optional[dict[str, str]] = None,
        extra_args: tuple[str, ...] = (),
        api_token: Optional[str] = "test-token",
        model: Path = MODEL,
    ) -> None:
        self.workdir, self.port, self.model = workdir, port or free_port(), model
        self.env, self.extra_args, self.api_token = env or {}, extra_args, api_token
        self.log = workdir / f"rasa-{self.port}.log"
        endpoints: dict[str, Any] = {}
        if action_url:
            # the shipped settings of endpoints.yml, pointed at this action server
            shipped = yaml.safe_load((ROOT / "endpoints.yml").read_text())["action_endpoint"]
            endpoints["action_endpoint"] = {**shipped, "url": f"{action_url}/webhook"}
        endpoints["tracker_store"] = tracker_store or default_tracker_store(workdir)
        if lock_store:
            endpoints["lock_store"] = lock_store
        self.endpoints = workdir / f"endpoints-{self.port}.yml"
        self.endpoints.write_text(yaml.safe_dump(endpoints))
        self.credentials = workdir / f"credentials-{self.port}.yml"
        self.credentials.write_text(
            yaml.safe_dump(credentials if credentials is not None else {"channels.rest.RestInput": None})
        )

    def start(self, ready_path: str = "/webhooks/rest/") -> "RasaServer":
        args = [
            *RASA_COMMAND,
            "run",
            "--model",
            str(self.model),
            "--endpoints",
            str(self.endpoints),
            "--credentials",
            str(self.credentials),
            "--port",
            str(self.port),
            "--interface",
            "127.0.0.1",
        ]
        if self.api_token:
            args += ["--enable-api", "--auth-token", self.api_token]
        self._launch([*args, *self.extra_args], f"{self.url}{ready_path}", self.env)
        return self

    def say(self, sender: str, message: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Sends a message through the REST channel and returns the bot's replies."""
        return post_json(f"{self.url}/webhooks/rest/webhook", {"sender": sender, "message": message}, timeout)

    def parse(self, text: str, timeout: float = 30) -> dict[str, Any]:
        """What the NLU makes of a text (POST /model/parse, needs the HTTP API)."""
        return post_json(f"{self.url}/model/parse?token={self.api_token}", {"text": text}, timeout)

    def tracker(self, sender: str) -> dict[str, Any]:
        """The stored conversation of `sender`: a conversation id (`web:...`, `telegram:...`), or a
        REST sender as `say` sends it (stored as `rest:<sender>`)."""
        if sender.partition(":")[0] not in ("rest", "web", "telegram"):
            sender = f"rest:{sender}"
        request = urllib.request.Request(f"{self.url}/conversations/{sender}/tracker?token={self.api_token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def stored(self, sender: str) -> tuple[int, int]:
        """(user messages, bot bubbles) stored in `sender`'s conversation. A bubble is a paragraph of
        a bot message: Rasa's socket.io output sends each as a message of its own. Rasa stores a
        turn after sending its replies, so a client that has all the bubbles has the whole turn."""
        events = self.tracker(sender)["events"]
        users = sum(1 for e in events if e["event"] == "user")
        bubbles = sum(len(e["text"].strip().split("\n\n")) for e in events if e["event"] == "bot" and e.get("text"))
        return users, bubbles


class DemoPage(_Server):
    """web/serve.py: the demo clinic page with the chat widget, pointed at a Rasa server."""

    def __init__(self, workdir: Path, rasa_url: str, port: Optional[int] = None) -> None:
        self.workdir, self.rasa_url, self.port = workdir, rasa_url, port or free_port()
        self.log = workdir / f"web-{self.port}.log"

    def start(self) -> "DemoPage":
        self._launch(
            [
                sys.executable,
                str(ROOT / "web" / "serve.py"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--rasa-url",
                self.rasa_url,
            ],
            f"{self.url}/",
            {},
            timeout=30,
        )
        return self


def post_json(url: str, payload: Any, timeout: float = 30) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def stop_process(process: Optional[subprocess.Popen]) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


class FakeAgent:
    """What the channels use of Rasa's agent: `handle_message` answers "echo: <text>" (or calls
    `reply(message)`), and records every message it got."""

    def __init__(
        self,
        reply: Optional[Callable[[Any], Awaitable[None]]] = None,
        intents: Optional[list[str]] = None,
        lock_store: Any = None,
        tracker_store: Any = None,
    ) -> None:
        self.messages: list[Any] = []
        self.reply = reply
        self.domain = None
        if intents is not None:
            from rasa.shared.core.domain import Domain

            self.domain = Domain.from_dict({"intents": intents})
        self.lock_store, self.tracker_store = lock_store, tracker_store

    async def handle_message(self, message: Any) -> None:
        self.messages.append(message)
        if self.reply is not None:
            await self.reply(message)
        else:
            await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})


_app_names = itertools.count(1)


class ChannelApp:
    """One input channel in a Sanic app on a free loopback port, served from a thread of this process."""

    def __init__(self, channel: Any, agent: Optional[FakeAgent] = None) -> None:
        self.channel, self.agent = channel, agent or FakeAgent()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread: Optional[threading.Thread] = None
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ChannelApp":
        from rasa.core.channels.channel import register
        from sanic import Sanic

        Sanic.test_mode = True
        app = Sanic(f"channel_test_{next(_app_names)}", configure_logging=False)
        app.config.MOTD = False
        app.ctx.agent = self.agent
        register([self.channel], app, route="/webhooks/")
        self.app = app
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(self.loop)

            async def run() -> None:
                self._server = await app.create_server(
                    host="127.0.0.1", port=self.port, return_asyncio_server=True, access_log=False
                )
                await self._server.startup()
                await self._server.before_start()
                await self._server.after_start()
                started.set()
                await self._server.serve_forever()

            try:
                self.loop.run_until_complete(run())
            except asyncio.CancelledError:
                pass

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("the channel app did not start")
        return self

    def call(self, coroutine: Awaitable[Any], timeout: float = 30) -> Any:
        """Runs a coroutine on the app's event loop (e.g. to use the channel's objects)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        if self._server is None:
            return

        async def shutdown() -> None:
            await self._server.before_stop()
            self._server.close()
            await self._server.wait_closed()
            await self._server.after_stop()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        try:
            self.call(shutdown(), timeout=15)
        except Exception:
            pass
        if self._thread is not None:
            self._thread.join(timeout=15)


def request(
    url: str,
    body: Optional[bytes] = None,
    headers: Optional[dict] = None,
    method: Optional[str] = None,
    timeout: float = 30,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of an HTTP request, also for 4xx and 5xx answers."""
    import urllib.error

    req = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", **(headers or {})}, method=method
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
