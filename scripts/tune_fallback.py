"""Chooses the NLU fallback threshold from data instead of guessing.

For each candidate threshold it reports, on the hold-out messages, the share the
assistant would answer (not fall back on) and the intent accuracy of those
answers, and on tests/nlu_unclear.yml the share that correctly falls back.

    python scripts/tune_fallback.py [--model models/footcare.tar.gz]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def best_intent(parse: dict) -> tuple[str, float]:
    ranking = [r for r in parse.get("intent_ranking", []) if r["name"] != "nlu_fallback"]
    return (ranking[0]["name"], ranking[0]["confidence"]) if ranking else ("", 0.0)


async def parse_all(agent: Agent, texts: list[str]) -> list[tuple[str, float]]:
    return [best_intent(await agent.parse_message(text)) for text in texts]


def sweep(holdout: list[tuple[str, str, float]], unclear: list[float]) -> list[tuple[float, float, float, float]]:
    rows = []
    for threshold in THRESHOLDS:
        answered = [(gold, pred) for gold, pred, conf in holdout if conf >= threshold]
        coverage = len(answered) / len(holdout)
        accuracy = sum(g == p for g, p in answered) / max(len(answered), 1)
        caught = sum(conf < threshold for conf in unclear) / max(len(unclear), 1)
        rows.append((threshold, coverage, accuracy, caught))
    return rows


def sweep_table(model: str) -> str:
    """The sweep as a Markdown table."""
    agent = Agent.load(model)
    holdout = load_data(str(ROOT / "tests" / "nlu_holdout.yml")).intent_examples
    unclear = load_data(str(ROOT / "tests" / "nlu_unclear.yml")).intent_examples
    predicted = asyncio.run(parse_all(agent, [m.get("text") for m in holdout]))
    rows = sweep(
        [(m.get("intent"), p, c) for m, (p, c) in zip(holdout, predicted)],
        [c for _, c in asyncio.run(parse_all(agent, [m.get("text") for m in unclear]))],
    )
    lines = [
        "| threshold | hold-out answered | accuracy of answered | unclear messages caught |",
        "| ---: | ---: | ---: | ---: |",
    ]
    lines += [f"| {t:.1f} | {cov:.1%} | {acc:.1%} | {caught:.1%} |" for t, cov, acc, caught in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "models" / "footcare.tar.gz"))
    print(sweep_table(parser.parse_args().model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
