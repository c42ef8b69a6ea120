"""What every input channel does with a request and a user's message before Rasa sees it.

- `clean_text` cuts overlong messages, then drops control characters;
- `small_metadata` drops a message's metadata when it is larger than
  MAX_METADATA_BYTES (Rasa stores it in the conversation and sends it to the
  action server on every turn);
- `sender_key` puts a channel's name in front of the id it gives a person
  (`rest:`, `web:`, `telegram:`), so that nobody can speak for a conversation
  of another channel by sending its id;
- `limit_request_size` makes the Rasa server answer 413 to a body over
  MAX_BODY_BYTES (default 64 KB) before it reads it (Sanic's own limit is
  100 MB), and bounds websocket messages the same way;
- `SenderGate` caps how many messages of one sender wait at once, so that a
  flood from one sender is refused early instead of piling up behind Rasa's
  per-conversation lock (which gives up after a minute with an error);
- `RateLimits` caps the messages of one client (peer address, or the
  forwarded address when the peer is a proxy named in TRUSTED_PROXIES) and of
  everybody together, so that new sender ids cost something;
- `ThrottledWarning` logs a repeated warning at most once a minute;
- `notice` holds the short replies the channels give without asking Rasa
  (see channels/notices.yml).

Every setting is an environment variable with a default (see docs/security.md).
Nothing here logs message text.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import math
import os
import time
import unicodedata
from collections import Counter, OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import yaml

MAX_MESSAGE_CHARS = 2000
# Messages of one sender that may be in Rasa at once (one handled, the others waiting).
MAX_WAITING_PER_SENDER = 4
# Messages of all senders that may be in the Rasa server at once (SenderGate).
DEFAULT_IN_FLIGHT = 64
NOTICES = Path(__file__).with_name("notices.yml")
CHANNEL_PREFIXES = ("rest", "web", "telegram")


def env_number(name: str, default: float, env: Mapping[str, str] = os.environ) -> float:
    value = (env.get(name) or "").strip()
    return float(value) if value else default


def max_body_bytes() -> int:
    return int(env_number("MAX_BODY_BYTES", 64 * 1024))


def max_metadata_bytes() -> int:
    return int(env_number("MAX_METADATA_BYTES", 1024))


def clean_text(text: str) -> str:
    """Cuts overlong messages, then drops control characters (keeping new lines and tabs)."""
    text = text[:MAX_MESSAGE_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return text[:MAX_MESSAGE_CHARS]


def small_metadata(metadata: Any) -> Optional[dict]:
    """The metadata if it is an object of at most MAX_METADATA_BYTES as JSON, else None."""
    if not isinstance(metadata, dict) or not metadata:
        return None
    try:
        size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        return None
    return metadata if size <= max_metadata_bytes() else None


def sender_key(channel: str, raw_id: Any) -> str:
    """The conversation id of a channel's sender: `<channel>:<id>`."""
    assert channel in CHANNEL_PREFIXES, channel
    return f"{channel}:{raw_id}"


def raw_sender(sender_id: str) -> str:
    """The id the channel knows (a chat id, a session id) from a conversation id."""
    channel, sep, rest = str(sender_id).partition(":")
    return rest if sep and channel in CHANNEL_PREFIXES else str(sender_id)


_size_limited_apps: "set[int]" = set()


def limit_request_size(blueprint: Any) -> None:
    """Sets the Rasa server's body and websocket limits to MAX_BODY_BYTES when it starts.

    Sanic checks a body's Content-Length against REQUEST_MAX_SIZE before reading the body, and
    answers 413; every connection reads the value from the app's config when it opens.
    """

    @blueprint.listener("before_server_start")
    async def limit(app: Any, *_: Any) -> None:
        if id(app) in _size_limited_apps:
            return
        _size_limited_apps.add(id(app))
        app.config.REQUEST_MAX_SIZE = max_body_bytes()
        app.config.WEBSOCKET_MAX_SIZE = max_body_bytes()


class SenderGate:
    """Counts the messages being handled right now, per sender and in all.

    A sender may have MAX_WAITING_PER_SENDER messages in the server at once; all senders together
    MAX_MESSAGES_IN_FLIGHT (default 64: about one second of work at the 70-90 turns a second one
    process carries, docs/benchmarks.md). A message over either is refused at once with a "busy"
    notice instead of waiting behind the others, so the server sheds load by its queue length, not
    by a fixed rate that would refuse patients it could serve. The Rasa server's channels share one
    gate (`shared_gate`).
    """

    def __init__(
        self, limit: int = MAX_WAITING_PER_SENDER, total: Optional[int] = None, env: Mapping[str, str] = os.environ
    ) -> None:
        self.limit = limit
        self.total = int(env_number("MAX_MESSAGES_IN_FLIGHT", DEFAULT_IN_FLIGHT, env)) if total is None else total
        self._busy: Counter[str] = Counter()
        self._in_flight = 0

    @contextlib.contextmanager
    def admit(self, sender: str) -> Iterator[bool]:
        """Yields True if the message may go on, False if the sender or the server has too many waiting."""
        if self._busy[sender] >= self.limit or self._in_flight >= self.total:
            yield False
            return
        self._busy[sender] += 1
        self._in_flight += 1
        try:
            yield True
        finally:
            self._in_flight -= 1
            self._busy[sender] -= 1
            if self._busy[sender] <= 0:
                del self._busy[sender]


def use_shared_gate(blueprint: Any, channel: Any) -> None:
    """Gives `channel.gate` the server's shared gate when the Rasa server starts."""

    @blueprint.listener("before_server_start")
    async def share(app: Any, *_: Any) -> None:
        channel.gate = shared_gate(app)


def shared_gate(app: Any) -> SenderGate:
    """The one `SenderGate` of a Rasa server (kept on its app), shared by all of its channels."""
    gate = getattr(app.ctx, "footcare_gate", None)
    if gate is None:
        gate = app.ctx.footcare_gate = SenderGate()
    return gate


class _Bucket:
    """A token bucket: `burst` messages at once, refilled at `rate` a second."""

    __slots__ = ("tokens", "stamp")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens, self.stamp = burst, now

    def take(self, burst: float, rate: float, now: float) -> float:
        """Takes one token; returns 0, or the seconds until one is there (nothing taken)."""
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate if rate > 0 else 60.0


class RateLimits:
    """Message limits (token buckets), from the environment:

    - CLIENT_MESSAGES_PER_MINUTE (30) and CLIENT_BURST (10) for one client: a peer address, or, for a
      partner's server that sends a valid REST token, one sender id of that partner;
    - PARTNER_MESSAGES_PER_MINUTE (1200) and PARTNER_BURST (200) for all the senders of one partner
      together (a token);
    - ALL_MESSAGES_PER_SECOND and ALL_BURST (40) for everybody together: off unless set. The server's
      own capacity is guarded by `SenderGate`'s cap on messages in flight instead.
    """

    def __init__(self, env: Mapping[str, str] = os.environ, clients: int = 10_000) -> None:
        self.client_rate = env_number("CLIENT_MESSAGES_PER_MINUTE", 30, env) / 60
        self.client_burst = env_number("CLIENT_BURST", 10, env)
        self.partner_rate = env_number("PARTNER_MESSAGES_PER_MINUTE", 1200, env) / 60
        self.partner_burst = env_number("PARTNER_BURST", 200, env)
        self.all_rate = env_number("ALL_MESSAGES_PER_SECOND", 0, env)
        self.all_burst = env_number("ALL_BURST", 40, env)
        self._clients: "OrderedDict[str, _Bucket]" = OrderedDict()
        self._partners: dict[str, _Bucket] = {}
        self._all: Optional[_Bucket] = None
        self._max_clients = clients

    def retry_after(self, client: str, now: Optional[float] = None, partner: Optional[str] = None) -> int:
        """0 if a message of `client` (of `partner`, when given) may go on now, else the whole seconds
        to wait. A message refused by a later limit gives the earlier buckets their token back."""
        now = time.monotonic() if now is None else now
        client = f"{partner}/{client}" if partner else _client_key(client)
        bucket = self._clients.pop(client, None) or _Bucket(self.client_burst, now)
        self._clients[client] = bucket
        while len(self._clients) > self._max_clients:
            self._clients.popitem(last=False)
        taken = []
        checks = [(bucket, self.client_burst, self.client_rate)]
        if partner:
            checks.append(
                (
                    self._partners.setdefault(partner, _Bucket(self.partner_burst, now)),
                    self.partner_burst,
                    self.partner_rate,
                )
            )
        if self.all_rate > 0:
            self._all = self._all or _Bucket(self.all_burst, now)
            checks.append((self._all, self.all_burst, self.all_rate))
        for limited, burst, rate in checks:
            wait = limited.take(burst, rate, now)
            if wait:
                for earlier in taken:
                    earlier.tokens += 1
                return int(math.ceil(wait))
            taken.append(limited)
        return 0


def _client_key(client: str) -> str:
    """An IPv6 client counts by its /64 network (one household or server gets a whole /64)."""
    ip = _address(client) if client else None
    if ip is not None and ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return client


def trusted_proxies(env: Mapping[str, str] = os.environ) -> list:
    """TRUSTED_PROXIES: addresses or networks (space or comma separated) of the reverse proxies."""
    items = (env.get("TRUSTED_PROXIES") or "").replace(",", " ").split()
    return [ipaddress.ip_network(item, strict=False) for item in items]


def _address(text: str) -> Optional[Any]:
    """An IP address (an IPv4 address mapped into IPv6 as the IPv4 one), or None."""
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def _is_in(address: str, networks: list) -> bool:
    ip = _address(address)
    return ip is not None and any(ip in network for network in networks)


def client_address(request: Any, proxies: Optional[list] = None) -> str:
    """The client of a request: the peer, or, when the peer is a trusted proxy, the last address
    in X-Forwarded-For that is not a trusted proxy (the one the proxies themselves saw)."""
    proxies = trusted_proxies() if proxies is None else proxies
    peer = request.ip or ""
    if not proxies or not _is_in(peer, proxies):
        return peer
    forwarded = [part.strip() for part in (request.headers.get("X-Forwarded-For") or "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _is_in(address, proxies):
            return address
    return peer


def is_loopback(request: Any) -> bool:
    """A request from this machine that no proxy forwarded (a proxy on this machine adds X-Forwarded-For)."""
    if any(request.headers.get(name) for name in ("X-Forwarded-For", "Forwarded", "X-Real-IP")):
        return False
    ip = _address(request.ip or "")
    return ip is not None and ip.is_loopback


class ThrottledWarning:
    """Logs a warning at most once every `interval` seconds, with how many were left out meanwhile."""

    def __init__(self, logger: logging.Logger, message: str, interval: float = 60.0) -> None:
        self.logger, self.message, self.interval = logger, message, interval
        self._last: Optional[float] = None
        self._skipped = 0

    def __call__(self) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self._skipped += 1
            return
        skipped, self._skipped, self._last = self._skipped, 0, now
        suffix = f" ({skipped} more since the last such warning)" if skipped else ""
        self.logger.warning(self.message + suffix)


@lru_cache(maxsize=1)
def _notices() -> dict[str, str]:
    data = yaml.safe_load(NOTICES.read_text(encoding="utf-8"))
    return {key: " ".join(str(value).split()) for key, value in data.items()}


def notice(key: str) -> str:
    return _notices()[key]
