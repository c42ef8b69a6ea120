#!/usr/bin/env python3
"""The warning-sign classifier's files and figures (footnlp/warning_signs.py), from the command line.

python scripts/warning_signs.py --check   # the training files and test sets are well formed (make validate)
python scripts/warning_signs.py --cv      # cross-validated figures on the training files

--cv trains the detector the way `make train` does and prints its thresholds and
out-of-fold figures, then the triage of every training message by a model that
did not see it (the lexicon's findings, the detector's, the decision and the
screening question, as scripts/triage_report.py counts them), for the written
and the real training files apart.  It is the figure to tune the detector on:
the test sets stay unread.
"""

from __future__ import annotations

import json
from typing import List, Optional

from footnlp.warning_signs import (
    DEFAULT_TRAINING,
    ROOT,
    ExamplesError,
    WarningSignModel,
    read_examples,
    sign_levels,
    training_paths,
)


def main(argv: Optional[List[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="scripts/warning_signs.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--cv", action="store_true", help="train on the default training files and print the cross-validated figures"
    )
    parser.add_argument("--check", action="store_true", help="check the training files and the warning-sign test sets")
    parser.add_argument("--C", type=float, default=16.0)
    args = parser.parse_args(argv)
    levels = sign_levels()
    if args.check:
        paths = training_paths(DEFAULT_TRAINING) + sorted(ROOT.glob("tests/red_flags_real*.yml"))
        try:
            counts = [(p, read_examples(p, levels)) for p in paths]
        except ExamplesError as exc:
            print(exc)
            return 1
        for path, ex in counts:
            print(
                f"{path.relative_to(ROOT)}: {len(ex.positives)} warning-sign messages, {len(ex.negatives)} look-alikes"
            )
        return 0
    if not args.cv:
        parser.print_help()
        return 1
    cross_validated_triage(WarningSignModel(C=args.C), levels)
    return 0


#: training files written by the project (the rest are quoted real posts)
WRITTEN = ("written.yml", "descriptions.yml", "red_flags.yml")


def cross_validated_triage(model: WarningSignModel, levels) -> None:
    """Print the thresholds, the out-of-fold figures and the triage of the training messages."""
    import triage_report

    from footnlp.encoder import load_encoder
    from footnlp.findings import safety_findings, silenced
    from footnlp.pipeline import load_pipeline

    messages = []  # (text, expected ids, level, written or real)
    for path in training_paths(DEFAULT_TRAINING):
        ex = read_examples(path, levels)
        kind = "written" if path.name in WRITTEN else "real"
        messages += [(t, ids, level, kind) for t, ids, level in ex.positives]
        messages += [(t, (), None, kind) for t in ex.negatives]
    positives = [(t, ids) for t, ids, level, _ in messages if level]
    negatives = [t for t, _, level, _ in messages if not level]
    nlp = load_pipeline()
    docs = {t: nlp(t) for t, *_ in messages}
    lexicon = {t: safety_findings(doc) for t, doc in docs.items()}
    ids = sorted(levels)
    _, (oof_pos, neg_matrix) = model.cross_validate(positives, negatives, load_encoder().embed, ids)
    figures = model.choose_thresholds(
        positives, negatives, oof_pos, neg_matrix, ids, lambda t: lexicon[t]["red_flags"], levels
    )
    print(json.dumps(figures, indent=2))
    model.ids = ids  # what the out-of-fold scores are in the order of (no final model is fitted)
    scores = iter([*oof_pos, *neg_matrix])
    results = {"written (out of fold)": [], "real (out of fold)": []}
    for text, expect, level, kind in [m for m in messages if m[2]] + [m for m in messages if not m[2]]:
        quiet, cleared = silenced(docs[text])
        found = {**lexicon[text], **model.additions(next(scores), lexicon[text], quiet, cleared, levels)}
        results[f"{kind} (out of fold)"].append((text, expect, level, triage_report.triage(found, expect)))
    triage_report.print_report(
        results,
        misses=False,
        described={
            "written (out of fold)": (
                "data/warning_signs/written.yml, descriptions.yml, tests/red_flags.yml",
                "written by the project",
            ),
            "real (out of fold)": ("data/warning_signs/real*.yml", "quoted from public pages"),
        },
    )


if __name__ == "__main__":
    raise SystemExit(main())
