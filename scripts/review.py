#!/usr/bin/env python
"""`make review`: the conversation review report for therapists.

Reads every conversation from the tracker store in the endpoints file (the one
the Rasa server uses), prints the figures and writes, into --out (reports/):
  review.html          the report, readable in a browser (the chart is inside)
  topics_over_time.png the chart of topics asked per day
  unclear_nlu.yml      the unclear messages in Rasa's training-data format, to check and copy
The reports hold message texts (masked, never sender ids): they are health data,
kept only for the retention period (`make purge` removes older ones).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from workbench.cli import quiet  # noqa: E402

quiet()

from workbench import review as rv  # noqa: E402
from workbench.cli import store_problems_exit  # noqa: E402
from workbench.store import DEFAULT_ENDPOINTS, connect  # noqa: E402


def write_private(path: Path, data: bytes) -> None:
    """Writes a file only its owner can read."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--endpoints", default=str(DEFAULT_ENDPOINTS), help="endpoints file naming the tracker store")
    parser.add_argument("--out", default=str(ROOT / "reports"), help="folder for the report files (default: reports/)")
    parser.add_argument("--days", type=float, default=None, help="only conversations active in the last DAYS days")
    parser.add_argument("--low-confidence", type=float, default=rv.LOW_CONFIDENCE,
                        help=f"list messages below this confidence as unclear (default {rv.LOW_CONFIDENCE})")
    parser.add_argument("--quiet", action="store_true", help="do not print the figures")
    args = parser.parse_args(argv)
    with store_problems_exit("review"):
        store = connect(args.endpoints)
        since = time.time() - args.days * 86400 if args.days else None
        review = rv.build(store, since=since, low_confidence=args.low_confidence)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chart = rv.topics_chart(review)
    chart_path = out / "topics_over_time.png"
    if chart:
        write_private(chart_path, chart)
    elif chart_path.exists():
        chart_path.unlink()
    write_private(out / "review.html", rv.html_report(review, chart).encode("utf-8"))
    write_private(out / "unclear_nlu.yml", rv.unclear_nlu_yaml(review).encode("utf-8"))
    if not args.quiet:
        print(rv.text_report(review))
    written = [out / "review.html", *([chart_path] if chart else []), out / "unclear_nlu.yml"]
    print("Wrote " + ", ".join(os.path.relpath(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
