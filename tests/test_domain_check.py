"""`make validate` checks domain.yml, data/rules.yml and the NLU data against the topics
(content/knowledge.yml) and the conditions (content/lexicon.yml), naming what is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_domain.py"


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A copy of the files the check reads."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(ROOT / "domain.yml", root)
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "content", root / "content")
    return root


@pytest.fixture
def project(shipped, tmp_path):
    root = tmp_path / "project"
    shutil.copytree(shipped, root)
    return root


def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True, timeout=120
    )


def edit(root: Path, pattern: str, change) -> None:
    for path in root.glob(pattern):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_the_shipped_files_agree(shipped):
    result = check(shipped)
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("OK")


def drop_rule(intent):
    def change(data):
        data["rules"] = [r for r in data["rules"] if r["steps"][0].get("intent") != intent]

    return change


def drop_examples(intent):
    def change(data):
        data["nlu"] = [b for b in data.get("nlu") or [] if b.get("intent") != intent]

    return change


def new_topic(data):
    data["topics"]["footwear"] = {**data["topics"]["tools"], "intent": "ask_footwear", "next": []}


def new_condition(data):
    data["condition"]["bunion"] = {"terms": ["bunion", "hallux valgus"]}


@pytest.mark.parametrize(
    "file, change, messages",
    [
        (
            "domain.yml",
            lambda d: d["intents"].remove("ask_cost"),
            ["domain.yml: intents: ask_cost is missing (topic cost in content/knowledge.yml)"],
        ),
        (
            "domain.yml",
            lambda d: d["intents"].remove("ask_booking"),
            ["domain.yml: intents: ask_booking is missing (answered from content/clinic.yml)"],
        ),
        (
            "domain.yml",
            lambda d: d["slots"]["condition"]["values"].remove("heel_spur"),
            ["domain.yml: slots.condition.values: heel_spur is missing (condition.heel_spur in content/lexicon.yml)"],
        ),
        (
            "domain.yml",
            lambda d: d["slots"]["condition"]["values"].append("flat_feet"),
            ["domain.yml: slots.condition.values: flat_feet is not a condition of content/lexicon.yml"],
        ),
        (
            "data/rules.yml",
            drop_rule("ask_tools"),
            [
                "data/rules.yml: no rule '- intent: ask_tools' then '- action: action_answer' (topic tools in content/knowledge.yml)"
            ],
        ),
        (
            "data/nlu/*.yml",
            drop_examples("ask_pregnancy"),
            ["data/nlu: intent ask_pregnancy has no training examples (topic pregnancy in content/knowledge.yml)"],
        ),
        # a new topic in content/knowledge.yml is asked for everywhere
        (
            "content/knowledge.yml",
            new_topic,
            [
                "domain.yml: intents: ask_footwear is missing (topic footwear in content/knowledge.yml)",
                "data/rules.yml: no rule '- intent: ask_footwear' then '- action: action_answer'",
                "data/nlu: intent ask_footwear has no training examples",
            ],
        ),
        # and a new condition in the lexicon
        (
            "content/lexicon.yml",
            new_condition,
            [
                "domain.yml: slots.condition.values: bunion is missing (condition.bunion in content/lexicon.yml)",
                "content/knowledge.yml: conditions: bunion is missing (condition.bunion in content/lexicon.yml)",
            ],
        ),
    ],
)
def test_a_missing_piece_is_named(project, file, change, messages):
    edit(project, file, change)
    result = check(project)
    assert result.returncode == 1
    for message in messages:
        assert message in result.stdout, result.stdout


def test_a_synonym_of_an_unknown_condition_is_named(project):
    path = project / "data" / "nlu" / "synonyms.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n- synonym: flat_feet\n  examples: |\n    - fallen arches\n")
    result = check(project)
    assert "data/nlu: synonym flat_feet is not a condition of content/lexicon.yml" in result.stdout
