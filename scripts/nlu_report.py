"""Intent accuracy of a trained model on the NLU test sets, per intent, with minimums.

    python scripts/nlu_report.py models/footcare.tar.gz --min holdout=0.90 real=0.80

Scores the way `rasa test nlu` does (a FallbackClassifier prediction is undone,
so the figure is the intent the classifier picked). Exits 1 when a set is
below its minimum. The blind set's misses are never printed: only its figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from footnlp.scope import load_scope, words_of

ROOT = Path(__file__).resolve().parent.parent

#: name: (file, how it was written)
SETS = {
    "real": ("tests/nlu_real.yml", "quoted from public pages (forums, reader letters, clinic FAQs)"),
    "real_blind": ("tests/nlu_real_blind.yml", "quoted from public pages, a second collection, scored only"),
    "real_blind2": ("tests/nlu_real_blind2.yml", "quoted from public pages, a third collection, scored only"),
    "holdout": ("tests/nlu_holdout.yml", "written by the project apart from the training data"),
}
BLIND = {"real_blind", "real_blind2"}


def score_sets(model: str) -> dict:
    """{set: [(gold intent, predicted intent, text), ...]} for every test set."""
    # Rasa as shipped: footcare_server's changes make a turn faster, not a prediction different.
    from rasa.core.agent import Agent
    from rasa.nlu.classifiers import fallback_classifier
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(model)

    async def predict(text: str) -> str:
        parsed = await agent.parse_message(text)
        if fallback_classifier.is_fallback_classifier_prediction(parsed):
            parsed = fallback_classifier.undo_fallback_prediction(parsed)
        return parsed["intent"]["name"]

    async def run_all():
        out = {}
        for key, (path, _) in SETS.items():
            examples = load_data(str(ROOT / path)).intent_examples
            out[key] = [(m.get("intent"), await predict(m.get("text")), m.get("text")) for m in examples]
        return out

    return asyncio.run(run_all())


def accuracy(rows) -> float:
    return sum(g == p for g, p, *_ in rows) / len(rows)


def long_off_topic(rows, min_words: int):
    """The off-topic messages of at least `min_words` words (content/scope.yml's line), with their predictions."""
    return [r for r in rows if r[0] == "out_of_scope" and len(words_of(r[2])) >= min_words]


def per_intent_rows(rows):
    from sklearn.metrics import precision_recall_fscore_support

    gold, pred = [r[0] for r in rows], [r[1] for r in rows]
    labels = sorted(set(gold))
    p, r, f, n = precision_recall_fscore_support(gold, pred, labels=labels, zero_division=0)
    return list(zip(labels, p, r, f, n))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--min", nargs="*", default=[], help="set=minimum accuracy, e.g. real=0.80")
    args = parser.parse_args()
    minimum = {k: float(v) for k, v in (item.split("=", 1) for item in args.min)}
    scores = score_sets(args.model)
    min_words = load_scope().min_words
    failed = []
    for key, rows in scores.items():
        print(f"\n{key} ({SETS[key][0]}, {SETS[key][1]})")
        print(f"  {'intent':30} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>4}")
        for name, p, r, f, n in per_intent_rows(rows):
            print(f"  {name:30} {p:9.2f} {r:7.2f} {f:6.2f} {n:4d}")
        acc = accuracy(rows)
        need = minimum.get(key)
        print(
            f"  Intent accuracy on {key}: {acc:.1%} of {len(rows)} messages"
            + (f" (required: {need:.0%})" if need else "")
        )
        long_off = long_off_topic(rows, min_words)
        if long_off:
            recognised = sum(p == "out_of_scope" for _, p, *_ in long_off) / len(long_off)
            print(f"  Off-topic messages of {min_words} words or more recognised: {recognised:.1%} of {len(long_off)}")
        if key not in BLIND:
            for gold, pred, text in [r for r in rows if r[0] != r[1]][:25]:
                print(f"    miss: {text[:70]!r}: {gold} -> {pred}")
        if need is not None and acc < need:
            failed.append(f"{key} {acc:.1%} < {need:.0%}")
    if failed:
        print("\nBelow the minimum: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
