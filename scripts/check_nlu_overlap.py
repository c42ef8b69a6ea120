#!/usr/bin/env python3
"""Check that the NLU test sets are really held out.

Loads the training files (data/nlu/*.yml) and the test sets (tests/nlu_holdout.yml,
written apart; tests/nlu_real.yml and tests/nlu_real_blind.yml, quoted from public
pages), prints example counts per intent and exits non-zero if

* a test message equals a training message after normalisation
  (lowercase, entity markup and punctuation stripped, whitespace collapsed),
  or is a near copy of one (at least 6 words, 85% of the words shared);
* a topic intent has fewer than 30 training or 10 held-out examples;
* a training message is listed under two different intents (Rasa refuses that);
* an annotated `condition` entity has a value that is not a condition of content/lexicon.yml;
* the held-out file uses an intent that has no training data.

Usage: python3 scripts/check_nlu_overlap.py [--root PATH]
Needs only pyyaml.
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from footnlp.lexicon import condition_ids  # yaml only
from footnlp.topics import topic_intents

#: topics that must have enough training and hold-out examples
TOPIC_INTENTS = tuple(i for i in topic_intents(with_extra=False) if i != "describe_symptoms")
TEST_SETS = ("nlu_holdout.yml", "nlu_real.yml", "nlu_real_blind.yml", "nlu_real_blind2.yml")
NEAR_COPY = 0.85
MIN_TRAIN = 30
MIN_HOLDOUT = 10

# [text](entity) / [text](entity:value) / [text]{"entity": ..., "value": ...}
ENTITY_RE = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<short>[^)]*)\)|(?P<json>\{[^}]*\}))")
PUNCT_TABLE = str.maketrans({c: " " for c in string.punctuation + "“”‘’–—…"})


def strip_entities(text: str) -> str:
    return ENTITY_RE.sub(lambda m: m.group("text"), text)


def normalise(text: str) -> str:
    text = strip_entities(text).lower()
    # drop apostrophes inside words ("what's" == "whats"), other punctuation
    # becomes a space
    text = re.sub(r"(?<=\w)['’](?=\w)", "", text)
    text = text.translate(PUNCT_TABLE)
    return " ".join(text.split())


def entity_values(text: str):
    """Yield (entity, value) for every annotation in a raw example."""
    for m in ENTITY_RE.finditer(text):
        if m.group("json"):
            try:
                data = json.loads(m.group("json"))
            except json.JSONDecodeError:
                yield ("?", f"<bad json {m.group('json')}>")
                continue
            yield (data.get("entity", "?"), data.get("value", m.group("text")))
        else:
            entity, _, value = m.group("short").partition(":")
            yield (entity, value or m.group("text"))


def load_examples(path: Path) -> dict[str, list[str]]:
    """Return {intent: [raw example, ...]} for one Rasa NLU yaml file."""
    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    out: dict[str, list[str]] = defaultdict(list)
    for block in doc.get("nlu") or []:
        if "intent" not in block:
            continue  # synonym / regex / lookup blocks
        examples = block.get("examples") or ""
        if isinstance(examples, list):  # - text: ... (the quoted sets, with sources)
            out[block["intent"]].extend(str(e.get("text", "")).strip() for e in examples if isinstance(e, dict))
            continue
        for line in examples.splitlines():
            line = line.strip()
            if line.startswith("- "):
                out[block["intent"]].append(line[2:].strip())
    return out


def near_copy(words: set, train_words: list) -> bool:
    if len(words) < 6:
        return False
    return any(len(words & other) / len(words | other) >= NEAR_COPY for other in train_words)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="project root (default: the folder above scripts/)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root

    train_files = sorted((root / "data" / "nlu").glob("*.yml"))
    holdout_file = root / "tests" / "nlu_holdout.yml"
    if not train_files:
        print(f"no training files under {root / 'data' / 'nlu'}")
        return 1
    missing = [name for name in TEST_SETS if not (root / "tests" / name).exists()]
    if missing:
        print(f"missing {', '.join('tests/' + m for m in missing)}")
        return 1

    errors: list[str] = []
    conditions = set(condition_ids(root / "content" / "lexicon.yml"))
    train: dict[str, list[str]] = defaultdict(list)
    for path in train_files:
        for intent, examples in load_examples(path).items():
            train[intent].extend(examples)
    holdout = load_examples(holdout_file)

    # normalised training text -> intents it appears under
    seen: dict[str, set[str]] = defaultdict(set)
    for intent, examples in train.items():
        for ex in examples:
            seen[normalise(ex)].add(intent)
    for text, intents in sorted(seen.items()):
        if len(intents) > 1:
            errors.append(f"training message under several intents {sorted(intents)}: {text!r}")

    for label, data in (("training", train), ("holdout", holdout)):
        for intent, examples in data.items():
            for ex in examples:
                for entity, value in entity_values(ex):
                    if entity == "condition" and value not in conditions:
                        errors.append(f"{label} {intent}: condition value {value!r} not canonical in {ex!r}")

    train_words = [set(text.split()) for text in seen]
    for name in TEST_SETS:
        for intent, examples in sorted(load_examples(root / "tests" / name).items()):
            if intent not in train:
                errors.append(f"{name}: intent {intent!r} has no training examples")
            for ex in examples:
                norm = normalise(ex)
                shown = "(a blind set's message, not shown)" if "blind" in name else repr(ex)
                if norm in seen:
                    errors.append(f"{name}: {intent} message also in training {sorted(seen[norm])}: {shown}")
                elif near_copy(set(norm.split()), train_words):
                    errors.append(f"{name}: {intent} message nearly copied in the training data: {shown}")

    intents = sorted(set(train) | set(holdout))
    width = max(len(i) for i in intents)
    print(f"{'intent':<{width}}  train  holdout")
    for intent in intents:
        n_train, n_hold = len(train.get(intent, [])), len(holdout.get(intent, []))
        flag = ""
        if intent in TOPIC_INTENTS and (n_train < MIN_TRAIN or n_hold < MIN_HOLDOUT):
            flag = "  <-- too few"
            errors.append(
                f"topic intent {intent}: {n_train} training / {n_hold} holdout (need {MIN_TRAIN} / {MIN_HOLDOUT})"
            )
        print(f"{intent:<{width}}  {n_train:5d}  {n_hold:7d}{flag}")
    for intent in TOPIC_INTENTS:
        if intent not in intents:
            errors.append(f"topic intent {intent} has no examples at all")
    total_train = sum(len(v) for v in train.values())
    total_hold = sum(len(v) for v in holdout.values())
    print(f"{'total':<{width}}  {total_train:5d}  {total_hold:7d}")

    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for err in errors:
            print(f"  - {err}")
        return 1
    print(f"\nOK: no message of {', '.join(TEST_SETS)} appears in the training data")
    return 0


if __name__ == "__main__":
    sys.exit(main())
