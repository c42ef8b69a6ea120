"""Starts the real action server and Rasa server for integration tests.

Each stack runs on free loopback ports with its own endpoints and credentials
files in a temporary folder, and is stopped (and its logs kept) at the end.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "footcare.tar.gz"
RASA = str(Path(sys.executable).parent / "rasa")


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
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
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
            args, cwd=ROOT, env=base_env(**env), stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
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
    ) -> None:
        self.workdir, self.port = workdir, port or free_port()
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
        self.credentials.write_text(yaml.safe_dump(credentials if credentials is not None else {"channels.rest.RestInput": None}))

    def start(self, ready_path: str = "/webhooks/rest/") -> "RasaServer":
        args = [RASA, "run", "--model", str(MODEL), "--endpoints", str(self.endpoints),
                "--credentials", str(self.credentials), "--port", str(self.port), "--interface", "127.0.0.1"]
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
        request = urllib.request.Request(f"{self.url}/conversations/{sender}/tracker?token={self.api_token}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


class DemoPage(_Server):
    """web/serve.py: the demo clinic page with the chat widget, pointed at a Rasa server."""

    def __init__(self, workdir: Path, rasa_url: str, port: Optional[int] = None) -> None:
        self.workdir, self.rasa_url, self.port = workdir, rasa_url, port or free_port()
        self.log = workdir / f"web-{self.port}.log"

    def start(self) -> "DemoPage":
        self._launch(
            [sys.executable, str(ROOT / "web" / "serve.py"), "--host", "127.0.0.1", "--port", str(self.port),
             "--rasa-url", self.rasa_url],
            f"{self.url}/", {}, timeout=30,
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
