"""Writes docs/evaluation.md: NLU cross-validation per intent, hold-out accuracy
of the shipped pipeline and of a pipeline without the spaCy layer, and the
fallback threshold sweep.

    python scripts/evaluate.py [--folds 5]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
RESULTS = ROOT / "results" / "evaluate"
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
BASELINE = ROOT / "tests" / "configs" / "whitespace_baseline.yml"

sys.path.insert(0, str(ROOT / "scripts"))
from holdout_report import read_report, summary  # noqa: E402
from tune_fallback import sweep_table  # noqa: E402


def rasa(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    subprocess.run([RASA, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def table(rows) -> str:
    lines = ["| intent | precision | recall | F1 | n |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |" for name, p, r, f, n in rows]
    return "\n".join(lines)


def commit() -> str:
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True).strip()
    except Exception:
        return "unknown"


def holdout_accuracy(model: Path, out: Path) -> tuple[float, int, list]:
    rasa("test", "nlu", "--model", str(model), "--nlu", str(HOLDOUT), "--out", str(out))
    return summary(read_report(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    print(f"Cross-validation ({args.folds} folds) on data/nlu ...", flush=True)
    rasa("test", "nlu", "--config", "config.yml", "--nlu", "data/nlu", "--cross-validation",
         "--folds", str(args.folds), "--out", str(RESULTS / "cv"))
    cv_accuracy, cv_n, cv_rows = summary(read_report(RESULTS / "cv"))

    print("Hold-out with the shipped pipeline ...", flush=True)
    acc, n, rows = holdout_accuracy(ROOT / "models" / "footcare.tar.gz", RESULTS / "holdout")

    print("Hold-out with the whitespace baseline (training it) ...", flush=True)
    rasa("train", "nlu", "--config", str(BASELINE), "--nlu", "data/nlu", "--out", str(RESULTS / "models"),
         "--fixed-model-name", "baseline")
    base_acc, base_n, _ = holdout_accuracy(RESULTS / "models" / "baseline.tar.gz", RESULTS / "holdout-baseline")

    print("Fallback threshold sweep ...", flush=True)
    sweep = sweep_table(str(ROOT / "models" / "footcare.tar.gz"))

    today = dt.date.today().isoformat()
    doc = f"""# NLU evaluation

Written by `make evaluate` on {today} at commit `{commit()}`.

## Hold-out messages

`tests/nlu_holdout.yml` holds {n} messages written apart from the training data
(none of them is in `data/nlu/`; `scripts/check_nlu_overlap.py` checks it).

| pipeline | intent accuracy |
| --- | ---: |
| shipped (`config.yml`: spaCy language layer + DIET) | {acc:.1%} |
| without the spaCy layer (`tests/configs/whitespace_baseline.yml`) | {base_acc:.1%} |

Per intent, shipped pipeline:

{table(rows)}

## Fallback threshold

The model's best intent confidence on the hold-out messages and on
`tests/nlu_unclear.yml` (vague or garbled messages that should fall back), for
each candidate threshold of the `FallbackClassifier`:

{sweep}

## Cross-validation

{args.folds}-fold cross-validation on the training data ({cv_n} messages), intent accuracy {cv_accuracy:.1%}:

{table(cv_rows)}
"""
    out = ROOT / "docs" / "evaluation.md"
    out.write_text(doc)
    print(doc)
    print(f"Wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
