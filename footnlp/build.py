"""Build the footcare spaCy pipeline from the lexicon and save it.

    python -m footnlp.build --out build/spacy_footcare
    python -m footnlp.build --check          # only validate the lexicon

content/lexicon.yml is validated first; a problem is printed as
``ContentError: <file>: <key>: ...`` and the exit code is 1.  (That
content/safety.yml words every warning sign of the lexicon is checked by
the actions/safety package, the home of safety: ``python -m actions.safety``.)

The saved directory loads with ``spacy.load(path)`` in any process that has
imported ``footnlp`` (Rasa's SpacyNLP does, through footnlp.rasa_component).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from footcare_content.files import ContentError
from footnlp.lexicon import DEFAULT_LEXICON_PATH, load_lexicon


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m footnlp.build",
        description="Validate the footcare lexicon and build the spaCy pipeline.",
    )
    parser.add_argument("--out", type=Path, help="directory to save the pipeline to")
    parser.add_argument("--lexicon", type=Path, default=DEFAULT_LEXICON_PATH, help="lexicon file")
    parser.add_argument("--check", action="store_true", help="only validate the lexicon")
    args = parser.parse_args(argv)
    if not args.out and not args.check:
        parser.error("give --out DIR to build, or --check to only validate")

    started = time.perf_counter()
    try:
        lexicon = load_lexicon(args.lexicon)
    except ContentError as exc:
        print(f"ContentError: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{len(lexicon.ids(cat))} {cat}" for cat in ("condition", "red_flag", "contraindication"))
    print(f"{lexicon.source} is valid ({counts}).")
    if args.check:
        return 0

    from footnlp.pipeline import build_pipeline, save_pipeline

    try:
        nlp = build_pipeline(lexicon)
        # a quick smoke test before anything is replaced on disk
        doc = nlp("no fever but my foot went numb")
        found = [(s.id_, s._.negated) for s in doc.spans["footnlp"] if s.label_ == "RED_FLAG"]
        if ("numbness", False) not in found or ("fever", True) not in found:
            print(
                f"Build check failed: expected numbness (present) and fever (negated), got {found}",
                file=sys.stderr,
            )
            return 1
        out = save_pipeline(nlp, args.out)
    except ContentError as exc:
        print(f"ContentError: {exc}", file=sys.stderr)
        return 1
    info = nlp.meta["footnlp"]
    print(
        f"Saved {out} ({info['concepts']} concepts, {info['patterns']} patterns) "
        f"in {time.perf_counter() - started:.1f}s."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
