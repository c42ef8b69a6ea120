"""Writes docs/evaluation.md: NLU cross-validation per intent, hold-out accuracy
of the shipped pipeline and of a pipeline without the spaCy layer, and the
fallback threshold sweep.

Training DIET on TensorFlow is not bit-for-bit repeatable and one hold-out
message is 0.5%, so the two pipelines are compared over several random seeds,
each trained on the same data.

    python scripts/evaluate.py [--folds 5] [--seeds 42 7 2026]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
RESULTS = ROOT / "results" / "evaluate"
HOLDOUT = ROOT / "tests" / "nlu_holdout.yml"
BASELINE = ROOT / "tests" / "configs" / "whitespace_baseline.yml"

sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
from bench.run import commit  # noqa: E402  (HEAD, marked when the tree has changes)
from holdout_report import read_report, summary  # noqa: E402
from tune_fallback import sweep_table  # noqa: E402


def rasa(*args: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false")
    subprocess.run([RASA, *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def table(rows) -> str:
    lines = ["| intent | precision | recall | F1 | n |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {name} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |" for name, p, r, f, n in rows]
    return "\n".join(lines)


def holdout_accuracy(model: Path, out: Path) -> tuple[float, int, list]:
    rasa("test", "nlu", "--model", str(model), "--nlu", str(HOLDOUT), "--out", str(out))
    return summary(read_report(out))


def with_seed(config: Path, seed: int, out: Path) -> Path:
    """A copy of a pipeline config whose DIETClassifier uses another random seed."""
    data = yaml.safe_load(config.read_text())
    diet = [c for c in data["pipeline"] if c["name"] == "DIETClassifier"]
    if len(diet) != 1:
        raise SystemExit(f"{config}: expected one DIETClassifier in the pipeline")
    diet[0]["random_seed"] = seed
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def seeded_holdout(name: str, config: Path, seed: int) -> float:
    """Trains the NLU pipeline of `config` with `seed` and scores it on the hold-out."""
    models = RESULTS / "models"
    models.mkdir(parents=True, exist_ok=True)
    seeded = with_seed(config, seed, models / f"{name}-{seed}.yml")
    rasa("train", "nlu", "--config", str(seeded), "--nlu", "data/nlu", "--out", str(models),
         "--fixed-model-name", f"{name}-{seed}")
    accuracy, _, _ = holdout_accuracy(models / f"{name}-{seed}.tar.gz", RESULTS / f"holdout-{name}-{seed}")
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 7, 2026])
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    print(f"Cross-validation ({args.folds} folds) on data/nlu ...", flush=True)
    rasa("test", "nlu", "--config", "config.yml", "--nlu", "data/nlu", "--cross-validation",
         "--folds", str(args.folds), "--out", str(RESULTS / "cv"))
    cv_accuracy, cv_n, cv_rows = summary(read_report(RESULTS / "cv"))

    print("Hold-out with the shipped pipeline ...", flush=True)
    acc, n, rows = holdout_accuracy(ROOT / "models" / "footcare.tar.gz", RESULTS / "holdout")

    pipelines = {"shipped": ROOT / "config.yml", "baseline": BASELINE}
    scores = {name: [] for name in pipelines}
    for seed in args.seeds:
        for name, config in pipelines.items():
            print(f"Hold-out, {name} pipeline trained with seed {seed} ...", flush=True)
            scores[name].append(seeded_holdout(name, config, seed))
    means = {name: statistics.mean(values) for name, values in scores.items()}
    seed_rows = "\n".join(
        f"| {seed} | {shipped:.1%} | {base:.1%} |"
        for seed, shipped, base in zip(args.seeds, scores["shipped"], scores["baseline"])
    )
    verdict = "does not drop" if means["shipped"] >= means["baseline"] else "**drops**"

    print("Fallback threshold sweep ...", flush=True)
    sweep = sweep_table(str(ROOT / "models" / "footcare.tar.gz"))

    today = dt.date.today().isoformat()
    doc = f"""# NLU evaluation

Written by `make evaluate` on {today} at commit `{commit()}`.

## Hold-out messages

`tests/nlu_holdout.yml` holds {n} messages written apart from the training data
(none of them is in `data/nlu/`; `scripts/check_nlu_overlap.py` checks it).

The shipped model (`models/footcare.tar.gz`, `make train`) answers {acc:.1%} of
them with the right intent. It comes from `rasa train` (NLU and dialogue
together), which does not give the same DIET weights as `rasa train nlu` with
the same seed, so its figure is one more sample of the spread below.

Before and after the spaCy layer: the same classifier settings without it
(`tests/configs/whitespace_baseline.yml`: whitespace tokens, no lexicon
entities or concept features) against `config.yml`, each trained on
`data/nlu/` with {len(args.seeds)} random seeds:

| DIET random seed | with the spaCy layer (`config.yml`) | without it (baseline) |
| ---: | ---: | ---: |
{seed_rows}
| **mean** | **{means["shipped"]:.1%}** | **{means["baseline"]:.1%}** |

With the spaCy layer the hold-out accuracy {verdict} ({means["shipped"] - means["baseline"]:+.1%} points on average).

Per intent, shipped model:

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
