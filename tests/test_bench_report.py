"""bench/: the report of a run with the three setups, and the visitors' own addresses."""

from __future__ import annotations

import math

from bench import loadgen, report


def level(concurrency: int, turns_per_second: float, problems: dict) -> dict:
    return {
        "concurrency": concurrency,
        "seconds": 30.0,
        "turns": 900,
        "turns_per_second": turns_per_second,
        "errors": sum(problems.values()),
        "problems": problems,
        "latency_ms": {"p50": 20.0, "p95": 35.0, "p99": 50.0, "mean": 22.0},
        "cpu_ms_per_turn": {"rasa": 15.0, "action_server": 3.0},
        "other_processes_cores": 0.1,
    }


def setup(name: str, problems: dict, paired: bool = True) -> dict:
    nan = {"p50": math.nan, "p95": math.nan, "p99": math.nan, "mean": math.nan}
    timing = {"p50": 20.0, "p95": 35.0, "p99": 50.0, "mean": 22.0}
    return {
        "setup": name,
        "sanic_workers": 1,
        "parse_ms": timing if paired else nan,
        "paired_turn_ms": timing if paired else nan,
        "paired_other_processes_cores": 0.0,
        "parse_requests": 300 if paired else 0,
        "levels": [level(50, 45.0, problems)],
        "memory": [{"process": "rasa", "command": "python", "processes": 1, "peak_mb": 900, "sum_mb": 900}],
    }


def test_the_report_shows_the_shipped_limits_next_to_the_lifted_ones():
    figures = {
        "date": "today",
        "commit": "abc",
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "memory_gb": 24,
            "os": "Debian",
            "kernel": "6",
            "python": "3.10",
            "rasa": "3.6.21",
            "load_average_at_start": [0.1, 0.2, 0.3],
        },
        "model_mb": 7.0,
        "settings": {"seconds": 30, "warmup": 5, "levels": [50], "action_server_timeout": "10"},
        "setups": [setup("default", {}), setup("shipped", {"HTTP 429": 120}, paired=False)],
    }
    rows = {(name, target): (measured, reached) for name, target, measured, reached in report.targets(figures)}
    measured, reached = rows[("shipped", "50 conversations, limits as shipped: answered, and refused by a limit (429)")]
    assert "120 refused (429)" in measured and "0 other errors" in measured and reached
    assert rows[("default", "50 conversations: at least 40 turns/s with 0 errors")][1]
    text = report.markdown(figures, plot="latency.png")
    assert "### as shipped" in text and "see the default setup" in text


def test_every_visitor_gets_its_own_loopback_address():
    addresses = [loadgen.visitor_address(n) for n in range(500)]
    assert len(set(addresses)) == 500 and all(a.startswith("127.0.") and not a.endswith(".0") for a in addresses)
