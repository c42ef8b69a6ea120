#!/usr/bin/env python3
"""Check that the sets quoted from public pages are held apart by address and by text.

Real messages the models train on (data/nlu/*.yml, data/warning_signs/*.yml) must
come from other web pages than any test set, and each real test set from other
pages than the other real test sets.  Every quoted message has its page's address
in a comment above it; addresses are compared without scheme, "www.", query,
fragment and trailing slash.  A warning-sign test message must also not appear
(after normalising case and punctuation) in a warning-sign training file.

Exits 1 and names the address or message when the split does not hold.

Usage: python scripts/check_sources.py [--root PATH]
Needs only pyyaml.
"""

from __future__ import annotations

import argparse
import re
import sys
from itertools import combinations
from pathlib import Path
from typing import Dict, List, Set

import yaml

#: test sets quoted from public pages, by family: a set comes from other pages than the other
#: sets of its family (an intent set and a warning-sign set may quote the same page)
FAMILIES = {
    "intent": ("tests/nlu_real.yml", "tests/nlu_real_blind.yml", "tests/nlu_real_blind2.yml"),
    "warning sign": ("tests/red_flags_real.yml", "tests/red_flags_real_blind.yml", "tests/red_flags_real_third.yml"),
}
REAL_TEST_SETS = tuple(name for names in FAMILIES.values() for name in names)
#: query parameters that do not name a page
_NOISE = re.compile(r"^(utm_.*|tb_iframe|width|height|wpfpaction|postid|amp)$", re.IGNORECASE)
TRAINING_GLOBS = ("data/nlu/*.yml", "data/warning_signs/*.yml")
WARNING_TRAINING = "data/warning_signs/*.yml"
WARNING_TESTS = ("tests/red_flags_real.yml", "tests/red_flags_real_blind.yml", "tests/red_flags_real_third.yml")

_URL = re.compile(r"https?://[^\s\"'<>)\]]+")


def address(url: str) -> str:
    """The page's address for comparing: host without www., path without trailing slash, the query's
    page-naming parameters in order ("faq.php?faq_id=..." names a page; "utm_source" does not)."""
    url = re.sub(r"^https?://", "", url.strip().rstrip(".,;")).split("#")[0]
    url, _, query = url.partition("?")
    host, _, path = url.partition("/")
    host = host.lower()
    host = host[4:] if host.startswith("www.") else host
    params = sorted(p for p in query.split("&") if p and not _NOISE.match(p.split("=")[0]))
    return f"{host}/{path}".rstrip("/") + (f"?{'&'.join(params)}" if params else "")


def addresses(path: Path) -> Set[str]:
    """The addresses cited in a file's comments."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            found.update(address(u) for u in _URL.findall(stripped))
    return found


def normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def texts(path: Path) -> List[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = [c["text"] for c in data.get("positives") or [] if isinstance(c, dict) and isinstance(c.get("text"), str)]
    out += [c if isinstance(c, str) else c.get("text", "") for c in data.get("negatives") or []]
    return [t for t in out if t]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    root = parser.parse_args(argv).root
    errors: List[str] = []

    tests: Dict[str, Set[str]] = {name: addresses(root / name) for name in REAL_TEST_SETS if (root / name).is_file()}
    training: Dict[str, Set[str]] = {
        str(p.relative_to(root)): addresses(p) for pattern in TRAINING_GLOBS for p in sorted(root.glob(pattern))
    }
    for train_name, train_addresses in training.items():
        for test_name, test_addresses in tests.items():
            for shared in sorted(train_addresses & test_addresses):
                errors.append(f"{shared} is cited in the training file {train_name} and in the test set {test_name}")
    for family, names in FAMILIES.items():
        for a, b in combinations([n for n in names if n in tests], 2):
            for shared in sorted(tests[a] & tests[b]):
                errors.append(f"{shared} is cited in two {family} test sets, {a} and {b}")

    trained = {normal(t): str(p.relative_to(root)) for p in sorted(root.glob(WARNING_TRAINING)) for t in texts(p)}
    for name in WARNING_TESTS:
        if (root / name).is_file():
            for text in texts(root / name):
                if normal(text) in trained:
                    errors.append(f"{name}: message also in {trained[normal(text)]}: {text[:80]!r}")

    counts = ", ".join(f"{name} {len(a)}" for name, a in {**tests, **training}.items() if a)
    print(f"pages cited: {counts}")
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for error in errors:
            print(f"  - {error}")
        return 1
    print(
        "OK: no page is cited in both a training file and a test set, or in two test sets of a family; no warning-sign test message is trained on"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
