#!/usr/bin/env python3
"""Check the Rasa files against the one list of topics and the one list of conditions.

The topics are those of content/knowledge.yml (each with its `intent`, plus
`ask_booking`), the conditions the `condition` concepts of content/lexicon.yml.
Exits non-zero, naming each file and what is missing, unless

* domain.yml lists every topic intent, the entity `condition`, and the slot
  `condition` has exactly the lexicon's conditions as its values;
* content/knowledge.yml names exactly the lexicon's conditions (`conditions`);
* data/rules.yml has a rule for every topic intent (`action_answer`; booking
  `action_booking`);
* the NLU training data (data/nlu/*.yml) has examples for every topic intent,
  and its condition synonyms map onto the lexicon's conditions.

Usage: python scripts/check_domain.py [--root PATH]   (make validate runs it)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml
from check_nlu_overlap import load_examples  # scripts/check_nlu_overlap.py, next to this file

from footcare_content.files import ContentError
from footnlp.lexicon import condition_ids  # yaml only
from footnlp.topics import EXTRA_TOPIC_INTENTS, read_topics

ROOT = Path(__file__).resolve().parent.parent

#: the action that answers each intent asked like a topic (the others: action_answer)
RULE_ACTIONS = {"ask_booking": "action_booking"}


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def rule_actions(rules: Any) -> Dict[str, List[str]]:
    """{intent: [the action that follows it in a rule, ...]} of a parsed rules file."""
    found: Dict[str, List[str]] = {}
    for rule in rules.get("rules") or []:
        steps = rule.get("steps") or []
        for step, after in zip(steps, steps[1:]):
            if "intent" in step and "action" in after:
                found.setdefault(step["intent"], []).append(after["action"])
    return found


def synonyms(files: List[Path]) -> List[str]:
    """The values the `synonym` blocks of the NLU files map onto."""
    return [block["synonym"] for path in files for block in _yaml(path).get("nlu") or [] if "synonym" in block]


def problems(root: Path) -> List[str]:
    """Every disagreement between the Rasa files and the topic and condition lists."""
    knowledge_file, lexicon_file = root / "content" / "knowledge.yml", root / "content" / "lexicon.yml"
    try:
        conditions = condition_ids(lexicon_file)
        topics = read_topics(knowledge_file)
    except ContentError as exc:
        return [str(exc)]
    asked = {intent: f"topic {tid} in content/knowledge.yml" for tid, intent in topics.items()}
    asked.update({intent: "answered from content/clinic.yml" for intent in EXTRA_TOPIC_INTENTS})
    defined = {c: f"condition.{c} in content/lexicon.yml" for c in conditions}
    errors: List[str] = []

    def compare(where: str, listed: Any, expected: Dict[str, str], noun: str) -> None:
        listed = list(listed or [])
        errors.extend(f"{where}: {name} is missing ({why})" for name, why in expected.items() if name not in listed)
        if noun:
            errors.extend(f"{where}: {name} is not {noun}" for name in listed if name not in expected)

    domain = _yaml(root / "domain.yml")
    compare("domain.yml: intents", domain.get("intents"), asked, "")
    compare("domain.yml: entities", domain.get("entities"), {"condition": "the entity of the conditions"}, "")
    slot = (domain.get("slots") or {}).get("condition") or {}
    compare("domain.yml: slots.condition.values", slot.get("values"), defined, "a condition of content/lexicon.yml")
    named = (_yaml(knowledge_file).get("conditions") or {}).keys()
    compare("content/knowledge.yml: conditions", named, defined, "a condition of content/lexicon.yml")

    rules = rule_actions(_yaml(root / "data" / "rules.yml"))
    for intent, why in asked.items():
        action = RULE_ACTIONS.get(intent, "action_answer")
        if action not in rules.get(intent, []):
            errors.append(f"data/rules.yml: no rule '- intent: {intent}' then '- action: {action}' ({why})")

    nlu_files = sorted((root / "data" / "nlu").glob("*.yml"))
    examples: Dict[str, List[str]] = {}
    for path in nlu_files:
        for intent, texts in load_examples(path).items():
            examples.setdefault(intent, []).extend(texts)
    for intent, why in asked.items():
        if not examples.get(intent):
            errors.append(f"data/nlu: intent {intent} has no training examples ({why})")
    for value in synonyms(nlu_files):
        if value not in defined:
            errors.append(f"data/nlu: synonym {value} is not a condition of content/lexicon.yml")
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="project root (default: the folder above scripts/)")
    args = parser.parse_args(argv)
    errors = problems(args.root)
    if errors:
        print(f"FAILED: {len(errors)} problem(s) with the topics and conditions")
        for error in errors:
            print(f"  - {error}")
        return 1
    print(
        "OK: domain.yml, data/rules.yml, data/nlu and content/knowledge.yml agree with "
        "the topics of content/knowledge.yml and the conditions of content/lexicon.yml"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
