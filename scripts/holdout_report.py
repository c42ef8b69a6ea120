"""Prints intent accuracy on the held-out messages from a `rasa test nlu` report
and fails when it is below the required minimum.

    python scripts/holdout_report.py results/holdout --min-accuracy 0.90
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def read_report(out_dir: Path) -> dict:
    return json.loads((out_dir / "intent_report.json").read_text())


def summary(report: dict) -> tuple[float, int, list[tuple[str, float, float, float, int]]]:
    rows = [
        (name, r["precision"], r["recall"], r["f1-score"], int(r["support"]))
        for name, r in sorted(report.items())
        if isinstance(r, dict) and "support" in r and name not in {"macro avg", "weighted avg", "micro avg"}
    ]
    support = sum(r[4] for r in rows)
    return float(report["accuracy"]), support, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--min-accuracy", type=float, default=0.90)
    args = parser.parse_args()
    accuracy, support, rows = summary(read_report(args.out_dir))
    print(f"{'intent':32} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>4}")
    for name, p, r, f, n in rows:
        print(f"{name:32} {p:9.2f} {r:7.2f} {f:6.2f} {n:4d}")
    print(f"\nHold-out intent accuracy: {accuracy:.1%} on {support} messages (required: {args.min_accuracy:.0%})")
    errors = args.out_dir / "intent_errors.json"
    if errors.exists():
        for e in json.loads(errors.read_text())[:40]:
            print(f"  miss: {e['text'][:70]!r}: {e['intent']} -> {e['intent_prediction']['name']} ({e['intent_prediction']['confidence']:.2f})")
    return 0 if accuracy >= args.min_accuracy else 1


if __name__ == "__main__":
    sys.exit(main())
