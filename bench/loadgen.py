"""An asyncio load generator: real conversations through the REST channel.

Each simulated visitor runs one scripted conversation after another (a new
sender id for each), sending the next message as soon as the previous reply
arrives (after a 429, once the Retry-After the server asks for has passed),
until the measuring time is over. A turn counts as an error when the request
fails, the status is not 200, the reply is empty, or the reply is the
never-silent fallback (the action server did not answer).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import aiohttp

# What visitors say: greetings, each topic, follow-ups, conditions, thanks. Every
# conversation walks one script; visitor n starts at script n.
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hello", "what is fascia massage?", "yes", "what side effects can it have?", "thanks, bye"),
    (
        "hi there",
        "I have plantar fasciitis, can fascia massage help?",
        "how should I prepare for a session?",
        "what happens during a session?",
        "thank you",
    ),
    ("good morning", "how do I massage my own foot?", "no thanks", "is it safe for me?", "goodbye"),
    (
        "hey",
        "my heel hurts every morning",
        "what results can I expect in the long run?",
        "how can I book an appointment?",
        "thanks a lot",
    ),
)


#: word-count bands of the real-length measurement: (label, fewest words, most words)
LENGTH_BANDS: tuple[tuple[str, int, int], ...] = (
    ("up to 20 words", 0, 20),
    ("21 to 60 words", 21, 60),
    ("over 60 words", 61, 10**9),
)
#: the short turns around real questions in a real-length conversation
OPENINGS = ("hello", "hi there", "good morning", "hey")
FOLLOW_UPS = ("yes", "thanks", "ok, and how long until it helps?", "no thanks", "what about side effects?")


def words(text: str) -> int:
    return len(text.split())


def band(text: str) -> str:
    return next(label for label, low, high in LENGTH_BANDS if low <= words(text) <= high)


def real_length_conversations(questions: Sequence[str], conversations: int) -> list[tuple[str, ...]]:
    """`conversations` scripts of a greeting, a real question, a short follow-up, another real question
    and thanks: the questions (real messages quoted from public pages) in their order, round."""
    out = []
    for n in range(conversations):
        first, second = questions[(2 * n) % len(questions)], questions[(2 * n + 1) % len(questions)]
        out.append((OPENINGS[n % len(OPENINGS)], first, FOLLOW_UPS[n % len(FOLLOW_UPS)], second, "thank you"))
    return out


@dataclass
class Turn:
    latency_s: float
    ok: bool
    problem: str = ""


@dataclass
class LevelResult:
    concurrency: int
    seconds: float
    turns: list[Turn] = field(default_factory=list)

    @property
    def latencies_ms(self) -> list[float]:
        return [turn.latency_s * 1000 for turn in self.turns if turn.ok]

    @property
    def errors(self) -> int:
        return sum(1 for turn in self.turns if not turn.ok)

    @property
    def turns_per_second(self) -> float:
        return sum(1 for turn in self.turns if turn.ok) / self.seconds if self.seconds else 0.0

    def problems(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for turn in self.turns:
            if not turn.ok:
                counts[turn.problem] = counts.get(turn.problem, 0) + 1
        return counts


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..100); nan when there are no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-share * len(ordered) // 100)))  # ceil
    return ordered[min(rank, len(ordered)) - 1]


def summary(latencies_ms: Sequence[float]) -> dict[str, float]:
    return {
        "p50": percentile(latencies_ms, 50),
        "p95": percentile(latencies_ms, 95),
        "p99": percentile(latencies_ms, 99),
        "mean": statistics.fmean(latencies_ms) if latencies_ms else float("nan"),
    }


async def _visitor(
    session: aiohttp.ClientSession,
    url: str,
    number: int,
    label: str,
    deadline: float,
    is_fallback: Callable[[list[dict[str, Any]]], bool],
    turns: list[Turn],
) -> None:
    conversation = 0
    while time.monotonic() < deadline:
        script = SCRIPTS[(number + conversation) % len(SCRIPTS)]
        sender = f"bench-{label}-{number}-{conversation}"
        conversation += 1
        for text in script:
            if time.monotonic() >= deadline:
                return
            started = time.perf_counter()
            problem, retry_after = "", 0.0
            try:
                async with session.post(url, json={"sender": sender, "message": text}) as response:
                    body = await response.json(content_type=None)
                    retry_after = float(response.headers.get("Retry-After") or 0)
                    if response.status != 200:
                        problem = f"HTTP {response.status}"
                    elif not body:
                        problem = "empty reply"
                    elif is_fallback(body):
                        problem = "fallback reply"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                problem = type(error).__name__
            turns.append(Turn(time.perf_counter() - started, not problem, problem))
            if problem == "HTTP 429" and retry_after:  # as a client should: wait as long as the server asks
                await asyncio.sleep(min(retry_after, max(0.0, deadline - time.monotonic())))


def visitor_address(number: int) -> str:
    """A loopback address of its own for visitor `number` (127.0.1.1, 127.0.1.2, ...): the shipped limits
    count messages per client address, as they would for patients on their own connections."""
    return f"127.0.{1 + number // 250}.{1 + number % 250}"


async def run_level(
    base_url: str,
    concurrency: int,
    seconds: float,
    *,
    warmup_seconds: float = 3.0,
    is_fallback: Callable[[list[dict[str, Any]]], bool] = lambda body: False,
    label: Optional[str] = None,
    own_addresses: bool = False,
) -> LevelResult:
    """`concurrency` visitors for `seconds` (after a warm-up whose turns are not counted); with
    `own_addresses` each visitor connects from its own loopback address."""
    url = f"{base_url}/webhooks/rest/webhook"
    label = label or f"c{concurrency}-{int(time.time())}"
    timeout = aiohttp.ClientTimeout(total=120)

    def connector(number: int) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(limit=0, local_addr=(visitor_address(number), 0) if own_addresses else None)

    sessions = [
        aiohttp.ClientSession(connector=connector(n), timeout=timeout)
        for n in range(concurrency if own_addresses else 1)
    ]
    try:

        def session(number: int) -> aiohttp.ClientSession:
            return sessions[number if own_addresses else 0]

        if warmup_seconds > 0:
            warmup: list[Turn] = []
            deadline = time.monotonic() + warmup_seconds
            await asyncio.gather(
                *(
                    _visitor(session(n), url, n, f"{label}-warmup", deadline, is_fallback, warmup)
                    for n in range(concurrency)
                )
            )
        turns: list[Turn] = []
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(_visitor(session(n), url, n, label, deadline, is_fallback, turns) for n in range(concurrency))
        )
        elapsed = time.monotonic() - started
    finally:
        for open_session in sessions:
            await open_session.close()
    return LevelResult(concurrency, elapsed, turns)


async def alternating_latencies(
    base_urls: dict[str, str], conversations: Sequence[tuple[str, ...]], label: str = "real"
) -> dict[str, list[tuple[str, float]]]:
    """One visitor walks `conversations` on every server of `base_urls` ({name: url}), sending each
    message to one server after the other (which one goes first alternates), so that all are measured
    under the same conditions.  Returns {name: [(message, turn ms)]}; the first conversation warms up."""
    out: dict[str, list[tuple[str, float]]] = {name: [] for name in base_urls}
    names = list(base_urls)
    senders = {name: "".join(c if c.isalnum() else "-" for c in name) for name in names}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for number, script in enumerate(conversations):
            for turn, text in enumerate(script):
                order = names if (number + turn) % 2 == 0 else names[::-1]
                for name in order:
                    started = time.perf_counter()
                    async with session.post(
                        f"{base_urls[name]}/webhooks/rest/webhook",
                        json={"sender": f"bench-{label}-{senders[name]}-{number}", "message": text},
                    ) as response:
                        await response.read()
                        if response.status != 200:
                            raise RuntimeError(f"{name}: the REST channel answered {response.status}")
                    if number > 0:
                        out[name].append((text, (time.perf_counter() - started) * 1000))
    return out


async def paired_latencies(
    base_url: str, token: str, conversations: int, label: str = "paired"
) -> tuple[list[float], list[float]]:
    """One visitor's turns, each followed by POST /model/parse of the same text (NLU only).

    Returns (turn ms, parse ms). Taking them alternately, from one client, puts both under the
    same conditions, so the ratio holds even when something else on the machine slows both down.
    """
    turn_url, parse_url = f"{base_url}/webhooks/rest/webhook", f"{base_url}/model/parse"
    turns: list[float] = []
    parses: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for conversation in range(conversations):
            for text in SCRIPTS[conversation % len(SCRIPTS)]:
                started = time.perf_counter()
                async with session.post(
                    turn_url, json={"sender": f"bench-{label}-{conversation}", "message": text}
                ) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"the REST channel answered {response.status}")
                middle = time.perf_counter()
                async with session.post(parse_url, params={"token": token}, json={"text": text}) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"/model/parse answered {response.status}")
                if conversation > 0:  # the first conversation warms both paths up
                    turns.append((middle - started) * 1000)
                    parses.append((time.perf_counter() - middle) * 1000)
    return turns, parses
