#!/usr/bin/env python3
"""The warning-sign classifier's files and figures (footnlp/warning_signs.py), from the command line.

python scripts/warning_signs.py --check   # the training files and test sets are well formed (make validate)
python scripts/warning_signs.py --cv      # cross-validated figures on the training files
"""

from __future__ import annotations

import json
from typing import List, Optional

from footnlp.warning_signs import (
    DEFAULT_TRAINING,
    ROOT,
    ExamplesError,
    WarningSignModel,
    load_training,
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
    from footnlp.encoder import load_encoder

    positives, negatives = load_training(training_paths(DEFAULT_TRAINING), levels)
    model = WarningSignModel(C=args.C)
    from footnlp.findings import safety_findings
    from footnlp.pipeline import load_pipeline

    nlp = load_pipeline()
    figures = model.fit(
        positives,
        negatives,
        load_encoder().embed,
        sorted(levels),
        lambda text: safety_findings(nlp(text))["red_flags"],
        levels,
    )
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
