"""Warning-sign detection on patient messages (tests/red_flags.yml) and the NLU hold-out set.

Prints the figures; run with `pytest -s` to see them:
- recall on the positives (must be 100%), per triage level, and whether the
  level found (the most urgent among the signs found) is the expected one for
  every positive;
- false-alarm rate on the negatives (at most 3%);
- false-alarm rate on tests/nlu_holdout.yml: a warning sign on a message whose
  intent is not describe_symptoms (at most 3%).

tests/red_flags_real.yml and tests/red_flags_real_blind.yml (quoted from public pages) are not used here:
they are measured apart, in docs/evaluation.md (the first one's misses were read once
and lexicon terms added for them; the second is never used to tune).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml

from actions import safety
from footnlp.lexicon import load_lexicon
from tests.safety_helpers import read

HERE = Path(__file__).resolve().parent
CASES = yaml.safe_load((HERE / "red_flags.yml").read_text(encoding="utf-8"))
HOLDOUT = HERE / "nlu_holdout.yml"
MAX_FALSE_ALARM = 0.03

# [text](entity), [text]{"entity": ...} -> text
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a (0 messages)"


def _text(case) -> str:
    return case if isinstance(case, str) else case["text"]


@pytest.fixture(scope="module")
def results():
    """The lexicon's safety decision on every positive, once."""
    return [(case, read(case["text"])) for case in CASES["positives"]]


def test_the_set_is_big_enough_and_covers_every_red_flag_and_level():
    positives, negatives = CASES["positives"], CASES["negatives"]
    assert len(positives) >= 300, len(positives)
    assert len(negatives) >= 150, len(negatives)
    covered = Counter(i for case in positives for i in case["expect"])
    red_flags = load_lexicon().ids("red_flag")
    thin = {rf: covered[rf] for rf in red_flags if covered[rf] < 3}
    assert not thin, f"red flags with fewer than 3 positive messages: {thin}"
    unknown = set(covered) - set(red_flags)
    assert not unknown, f"expected ids that are not red flags in the lexicon: {unknown}"
    assert {case["level"] for case in positives} == set(safety.LEVELS)
    for case in positives:
        # the level of a positive is the most urgent level among its expected signs
        assert case["level"] == safety.level_of(case["expect"]), case["text"]


def test_recall_on_positives_is_100_percent_at_every_level(results):
    missed, wrong_level, extra = [], [], []
    per_level: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # found all, level right, messages
    for case, result in results:
        counts = per_level[case["level"]]
        counts[2] += 1
        absent = [i for i in case["expect"] if i not in result.red_flags]
        if absent:
            missed.append((case["text"], absent, result.red_flags))
            continue
        counts[0] += 1
        if result.urgency == case["level"]:
            counts[1] += 1
        else:
            wrong_level.append((case["text"], case["level"], result.urgency, result.red_flags))
        if set(result.red_flags) - set(case["expect"]):
            extra.append((case["text"], sorted(set(result.red_flags) - set(case["expect"]))))
    total = len(results)
    print(
        f"\nWarning-sign recall on positives: {_pct(total - len(missed), total)}; "
        f"level right: {_pct(total - len(missed) - len(wrong_level), total)}"
    )
    for level in safety.LEVELS:
        found, right, n = per_level[level]
        print(f"  {level:9s} recall {_pct(found, n)}, level right {_pct(right, n)}")
    if extra:
        print(f"  {len(extra)} positives also raised other signs (at the same or a lower level)")
    for text, absent, found in missed:
        print(f"  MISSED {absent} in {text!r} (found {found})")
    for text, want, got, found in wrong_level:
        print(f"  LEVEL {got} instead of {want} in {text!r} (found {found})")
    assert not missed, f"recall {_pct(total - len(missed), total)}; missed: {missed}"
    assert not wrong_level, f"level wrong on: {wrong_level}"


def test_false_alarms_on_negatives():
    negatives = [_text(case) for case in CASES["negatives"]]
    alarms = [(text, read(text).red_flags) for text in negatives]
    alarms = [(text, found) for text, found in alarms if found]
    rate = len(alarms) / len(negatives)
    print(f"\nWarning-sign false alarms on negatives: {_pct(len(alarms), len(negatives))}")
    for text, found in alarms:
        print(f"  FALSE ALARM {found} on {text!r}")
    assert rate <= MAX_FALSE_ALARM, f"false-alarm rate {_pct(len(alarms), len(negatives))}: {alarms}"


def _holdout_messages():
    data = yaml.safe_load(HOLDOUT.read_text(encoding="utf-8")) or {}
    for block in data.get("nlu") or []:
        intent = block.get("intent")
        if not intent:
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if line.startswith("- "):
                yield intent, _ANNOTATION.sub(r"\1", line[2:]).strip()


def test_false_alarms_on_nlu_holdout():
    if not HOLDOUT.exists():
        pytest.skip(f"{HOLDOUT.name} does not exist yet")
    messages = [(i, t) for i, t in _holdout_messages() if i != "describe_symptoms"]
    if not messages:
        pytest.skip(f"{HOLDOUT.name} has no messages outside describe_symptoms")
    alarms = [(i, t, read(t).red_flags) for i, t in messages]
    alarms = [(i, t, found) for i, t, found in alarms if found]
    rate = len(alarms) / len(messages)
    print(
        f"\nWarning-sign false alarms on {HOLDOUT.name} (intents other than "
        f"describe_symptoms): {_pct(len(alarms), len(messages))}"
    )
    for intent, text, found in alarms:
        print(f"  {intent}: {found} on {text!r}")
    assert rate <= MAX_FALSE_ALARM, f"hold-out false-alarm rate {_pct(len(alarms), len(messages))}: {alarms}"
