"""scripts/evaluate.py replaces only the sections it writes in docs/evaluation.md."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from evaluate import merge_sections  # noqa: E402


def test_hand_sections_stay_in_place_and_written_ones_are_replaced():
    old = "# Title\nold date\n## Accuracy\nold\n## Triage (scripts/triage_report.py)\nkept\n## Fallback\nold\n"
    new = "# Title\nnew date\n## Accuracy\nnew\n## Fallback\nnew\n## Per intent\nadded\n"
    assert merge_sections(old, new) == (
        "# Title\nnew date\n## Accuracy\nnew\n## Triage (scripts/triage_report.py)\nkept\n"
        "## Fallback\nnew\n## Per intent\nadded\n"
    )


def test_a_first_run_writes_the_whole_document():
    new = "# Title\n## Accuracy\nnew\n"
    assert merge_sections("", new) == new
