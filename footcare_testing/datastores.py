"""PostgreSQL and Redis from Debian's packages, started on loopback for a test.

Each server gets a free port on 127.0.0.1 and a throw-away data folder, and is
stopped at the end. PostgreSQL refuses to run as root, so as root it runs as
the `postgres` user that Debian's package creates. Used by the replica, fault
and persistence tests, by the benchmark and by scripts/pg_redis.py;
footcare_testing.servers starts the Rasa and action servers that use them.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from footcare_testing.servers import free_port, stop_process, tail

INSTALL_HINT = "install it with `bash scripts/install_system_packages.sh` (Debian packages postgresql and redis-server)"


class MissingServer(RuntimeError):
    """A server binary is not installed."""


def find_binary(name: str) -> str:
    """A PostgreSQL or Redis program: on PATH, else in Debian's /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(Path(p).parts[4]))
    if candidates:
        return candidates[-1]
    raise MissingServer(f"`{name}` is not installed: {INSTALL_HINT}")


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}\n{tail(log)}")
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s\n{tail(log)}")


def _as_postgres_user() -> list[str]:
    """`runuser -u postgres --` when running as root (PostgreSQL will not run as root)."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        raise MissingServer(f"running as root needs the `postgres` user to start PostgreSQL: {INSTALL_HINT}") from None
    return [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]


class PostgreSQL:
    """A throw-away PostgreSQL cluster on 127.0.0.1 with one database, trust authentication."""

    USER = "footcare"
    DATABASE = "footcare"

    BINARIES = ("postgres", "initdb")

    def __init__(self, port: Optional[int] = None, durable: bool = False) -> None:
        """`durable`: sync every commit to disk as a real server does (the benchmark); tests skip that."""
        self.durable = durable
        self.postgres, self.initdb = map(find_binary, self.BINARIES)
        self.sudo = _as_postgres_user()
        self.port = port or free_port()
        # Not under pytest's tmp_path: its parents are private to root, and the server runs as `postgres`.
        self.root = Path(tempfile.mkdtemp(prefix="footcare-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.process: Optional[subprocess.Popen] = None
        if self.sudo:
            shutil.chown(self.root, "postgres", "postgres")

    @property
    def url(self) -> str:
        """SQLAlchemy URL, the form FOOTCARE_DB_URL takes."""
        return f"postgresql://{self.USER}@127.0.0.1:{self.port}/{self.DATABASE}"

    def tracker_store(self, **extra: Any) -> dict[str, Any]:
        """The tracker_store section of endpoints.production.yml, filled in for this server."""
        return {
            "type": "footcare_server.stores.StrictSQLTrackerStore",
            "dialect": "postgresql",
            "url": self.url,
            **extra,
        }

    def _run(self, *args: str) -> None:
        result = subprocess.run([*self.sudo, *args], capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")

    def start(self) -> "PostgreSQL":
        if not self.data.exists():
            self._run(
                self.initdb, "-D", str(self.data), "-U", self.USER, "--auth=trust", "-E", "UTF8", "--no-instructions"
            )
        self.process = subprocess.Popen(
            [
                *self.sudo,
                self.postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                "-c",
                f"fsync={'on' if self.durable else 'off'}",
                "-c",
                "max_connections=200",
            ],
            cwd=self.root,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process, self.log)
        self._create_database()
        return self

    def _create_database(self) -> None:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname="postgres")
                break
            except psycopg2.OperationalError:  # still starting up
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.DATABASE,))
            if not cursor.fetchone():
                cursor.execute(f"CREATE DATABASE {self.DATABASE}")
        connection.close()

    def query(self, sql: str, *params: Any) -> list[tuple]:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, dbname=self.DATABASE)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall()
        finally:
            connection.close()

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open client connections do not hold it up."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            stop_process(self.process)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class Redis:
    """A throw-away Redis on 127.0.0.1 that keeps nothing on disk."""

    BINARIES = ("redis-server",)

    def __init__(self, port: Optional[int] = None) -> None:
        [self.binary] = map(find_binary, self.BINARIES)
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="footcare-redis-"))
        self.log = self.root / "redis.log"
        self.process: Optional[subprocess.Popen] = None

    def lock_store(self) -> dict[str, Any]:
        """The lock_store section of endpoints.production.yml, filled in for this server."""
        return {"type": "footcare_server.locks.AtomicRedisLockStore", "url": "127.0.0.1", "port": self.port, "db": 1}

    def start(self) -> "Redis":
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            cwd=self.root,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process, self.log)
        return self

    def stop(self) -> None:
        stop_process(self.process)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def production_endpoints(pg: PostgreSQL, redis: Redis) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """endpoints.production.yml's tracker_store and lock_store, unchanged, and the environment that fills them in."""
    import yaml

    from footcare_testing.servers import ROOT

    profile = yaml.safe_load((ROOT / "endpoints.production.yml").read_text())
    env = {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(pg.port),
        "DB_NAME": pg.DATABASE,
        "DB_USER": pg.USER,
        "DB_PASSWORD": "",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis.port),
        "REDIS_DB": "1",
        "REDIS_PASSWORD": "",
    }
    return profile["tracker_store"], profile["lock_store"], env


def check_installed(*server_classes: type) -> None:
    """Raises MissingServer when a program one of these servers needs is not installed."""
    for server_class in server_classes:
        for name in server_class.BINARIES:
            find_binary(name)


def start_or_explain(server_class: type) -> Any:
    """Starts a PostgreSQL or Redis for a test; a missing binary fails in CI (CI=true) and skips elsewhere."""
    import pytest

    try:
        return server_class().start()
    except MissingServer as error:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(str(error))
        pytest.skip(str(error))
