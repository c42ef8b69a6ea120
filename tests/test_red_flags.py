"""Red-flag detection on realistic messages (tests/red_flags.yml) and the NLU hold-out set.

Prints the figures; run with `pytest -s` to see them:
- recall on the positives (must be 100%),
- false-alarm rate on the negatives (at most 5%),
- false-alarm rate on tests/nlu_holdout.yml: a red flag on a message whose
  intent is not describe_symptoms (at most 5%).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from actions import safety
from footnlp.lexicon import load_lexicon

HERE = Path(__file__).resolve().parent
CASES = yaml.safe_load((HERE / "red_flags.yml").read_text(encoding="utf-8"))
HOLDOUT = HERE / "nlu_holdout.yml"
MAX_FALSE_ALARM = 0.05

# [text](entity), [text]{"entity": ...} -> text
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})" if whole else "n/a (0 messages)"


def test_the_set_is_big_enough_and_covers_every_red_flag():
    positives, negatives = CASES["positives"], CASES["negatives"]
    assert len(positives) + len(negatives) >= 80
    assert len(positives) >= 45, len(positives)
    assert len(negatives) >= 35, len(negatives)
    covered = Counter(i for case in positives for i in case["expect"])
    red_flags = load_lexicon().ids("red_flag")
    thin = {rf: covered[rf] for rf in red_flags if covered[rf] < 3}
    assert not thin, f"red flags with fewer than 3 positive messages: {thin}"
    unknown = set(covered) - set(red_flags)
    assert not unknown, f"expected ids that are not red flags in the lexicon: {unknown}"


def test_recall_on_positives_is_100_percent():
    positives = CASES["positives"]
    missed, extra = [], []
    for case in positives:
        found = safety.check(case["text"]).red_flags
        absent = [i for i in case["expect"] if i not in found]
        if absent:
            missed.append((case["text"], absent, found))
        elif set(found) - set(case["expect"]):
            extra.append((case["text"], sorted(set(found) - set(case["expect"]))))
    recall = _pct(len(positives) - len(missed), len(positives))
    print(f"\nRed-flag recall on positives: {recall}")
    if extra:
        print(f"  {len(extra)} positives also raised other red flags:")
        for text, ids in extra:
            print(f"    {text!r}: +{ids}")
    for text, absent, found in missed:
        print(f"  MISSED {absent} in {text!r} (found {found})")
    assert not missed, f"recall {recall}; missed: {missed}"


def test_false_alarms_on_negatives():
    negatives = CASES["negatives"]
    alarms = [(text, safety.check(text).red_flags) for text in negatives]
    alarms = [(text, found) for text, found in alarms if found]
    rate = len(alarms) / len(negatives)
    print(f"\nRed-flag false-alarm rate on negatives: {_pct(len(alarms), len(negatives))}")
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
    alarms = [(i, t, safety.check(t).red_flags) for i, t in messages]
    alarms = [(i, t, found) for i, t, found in alarms if found]
    rate = len(alarms) / len(messages)
    print(
        f"\nRed-flag false-alarm rate on {HOLDOUT.name} (intents other than "
        f"describe_symptoms): {_pct(len(alarms), len(messages))}"
    )
    for intent, text, found in alarms:
        print(f"  {intent}: {found} on {text!r}")
    assert rate <= MAX_FALSE_ALARM, f"hold-out false-alarm rate {_pct(len(alarms), len(messages))}: {alarms}"
