#!/usr/bin/env python
"""`make answers`: every answer of content/knowledge.yml, as users see it, in one document to sign off."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from workbench.cli import quiet  # noqa: E402

quiet()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split(":", 1)[1].strip())
    parser.add_argument("--out", default=str(ROOT / "docs" / "answers.html"), help="where to write (default: docs/answers.html)")
    args = parser.parse_args(argv)
    from footcare_content.files import ContentError
    from workbench import answers

    try:
        path = answers.write(Path(args.out))
    except ContentError as exc:
        print(f"answers: {exc}", file=sys.stderr)
        return 2
    print(f"Wrote {path} ({len(answers.variants())} answers, content version {answers.fingerprint()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
