"""footnlp/warning_signs.py: the learned warning-sign detector's data, windows, thresholds and storage.

The detector itself is trained with the Rasa model; its figures on every set
come from scripts/triage_report.py (make test-triage).  Here it is trained on
a small made-up set with a stand-in encoder, to check what it does with what
it learns, and the shipped training files are checked.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from footnlp import warning_signs as ws

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ws.sign_levels()


def fake_embed(texts):
    """A stand-in for the sentence encoder: a unit vector from the words (no model needed)."""
    out = np.zeros((len(texts), 64), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.lower().split():
            out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "set.yml"
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ the files


def test_every_training_file_is_well_formed_and_every_sign_is_taught():
    paths = ws.training_paths(ws.DEFAULT_TRAINING)
    assert ROOT / "tests" / "red_flags.yml" in paths and len(paths) >= 4
    positives, negatives = ws.load_training(paths, LEVELS)
    taught = {i for _, ids in positives for i in ids}
    assert taught == set(LEVELS)
    assert len(positives) >= 1000 and len(negatives) >= 700


def test_the_test_sets_are_well_formed():
    for name in ("red_flags_real.yml", "red_flags_real_blind.yml", "red_flags_real_third.yml"):
        examples = ws.read_examples(ROOT / "tests" / name, LEVELS)
        assert examples.positives and examples.negatives


def test_the_third_collection_is_big_enough():
    examples = ws.read_examples(ROOT / "tests" / "red_flags_real_third.yml", LEVELS)
    assert len(examples.positives) >= 150 and len(examples.negatives) >= 100


def test_real_sets_are_held_apart_by_address():
    """scripts/check_sources.py: no page in both a training file and a test set (make validate runs it)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "check_sources.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "body, problem",
    [
        ("positives: []\n", "needs two lists"),
        ("positives:\n  - text: hi\n    level: soon\n    expect: [not_a_sign]\nnegatives: []\n", "expect must list"),
        (
            "positives:\n  - text: my calf is swollen\n    level: soon\n    expect: [calf_clot]\nnegatives: []\n",
            "level must be same_day",
        ),
        ("positives: []\nnegatives:\n  - ''\n", "negatives[0]"),
        ("positives: [\n", "cannot be read"),
    ],
)
def test_a_broken_set_names_the_file_and_the_item(tmp_path, body, problem):
    with pytest.raises(ws.ExamplesError, match=problem.replace("[", r"\[")) as error:
        ws.read_examples(write(tmp_path, body), LEVELS)
    assert "set.yml" in str(error.value)


def test_windows_are_the_message_its_parts_and_neighbouring_pairs():
    assert ws.windows("my calf is swollen") == ["my calf is swollen"]
    text = "Flew home on Sunday. Now my calf is tight. It is warm too."
    assert ws.windows(text) == [
        text,
        "Flew home on Sunday.",
        "Now my calf is tight.",
        "It is warm too.",
        "Flew home on Sunday. Now my calf is tight.",
        "Now my calf is tight. It is warm too.",
    ]
    assert len(ws.windows(" ".join(f"Sentence {i}." for i in range(40)))) == ws.MAX_WINDOWS


def test_a_threshold_lets_through_at_most_its_share_of_look_alikes():
    scores = np.linspace(0.0, 0.99, 100)
    threshold = ws._threshold(scores, 0.05)
    assert np.mean(scores >= threshold) <= 0.05 and np.mean(scores >= threshold - 0.02) > 0.05


# ------------------------------------------------------------------ the model

STORIES = {
    "sudden_injury": [
        "heard a pop in my heel playing tennis and can only hop",
        "felt a kick at the back of my ankle, nobody there, cant walk",
        "slipped on the stairs, heard a crack, cannot put weight on it",
        "achilles snapped at football and i can't push off",
    ],
    "calf_clot": [
        "since the long flight my calf is swollen and warm",
        "after my operation one calf is tight hot and swollen",
        "my leg swelled up on one side after the coach trip, calf aches",
        "calf swollen and red on one side since surgery",
    ],
    "cold_pale_blue_foot": [
        "my foot went cold and white suddenly",
        "toes turned blue and icy and won't warm up",
        "foot suddenly pale and freezing and numb",
        "my toes look purple and feel like ice",
    ],
}
LOOK_ALIKES = [
    "my heel hurts for the first steps in the morning",
    "arch is sore after a long shift",
    "had a fever last week, all gone now",
    "broke my foot years ago, healed fine",
    "how do i avoid a clot on my flight next week",
    "my calves ache after my run, both the same",
    "feet get cold in winter then warm up",
    "new shoes pinched my toes yesterday",
    "what is plantar fasciitis",
    "ball of my foot is sore when i walk barefoot",
    "tight achilles in the morning that eases",
    "can i roll my foot on a tennis ball",
] * 2


@pytest.fixture(scope="module")
def trained():
    positives = [(text, [sign]) for sign, texts in STORIES.items() for text in texts] * 2
    model = ws.WarningSignModel(C=8.0, alarm_rate=0.05, ask_rate=0.10)
    lexicon = {
        "heard a pop in my heel playing tennis and can only hop": ["sudden_injury"],
        "had a fever last week, all gone now": ["fever"],
    }
    figures = model.fit(positives, LOOK_ALIKES, fake_embed, sorted(LEVELS), lambda t: lexicon.get(t, []), LEVELS)
    return model, figures


def test_the_model_learns_stories_and_keeps_the_look_alikes_quiet(trained):
    model, figures = trained
    text = "heard a crack when i slipped on the stairs and now i can only hop"
    found, suspected, _ = model.read(ws.windows(text), fake_embed(ws.windows(text)))
    assert "sudden_injury" in {**found, **suspected}
    quiet = "my heel hurts for the first steps in the morning"
    found, suspected, _ = model.read([quiet], fake_embed([quiet]))
    assert not found
    assert 0.0 < model.ask_emergency <= model.ask <= model.alarm < 1.0
    assert figures["cv_false_alarms"] <= 0.05 + 1e-9 and figures["cv_questions"] <= 0.10 + 1e-9


def test_a_story_told_over_two_sentences_is_read_together(trained):
    model, _ = trained
    text = "We got back from a long flight on Sunday. My calf is swollen and warm now."
    scores = dict(zip(model.ids, model.scores(ws.windows(text), fake_embed(ws.windows(text)))))
    assert max(scores, key=scores.get) == "calf_clot"


def test_the_gate_asks_about_lexicon_signs_the_classifier_does_not_back(trained):
    import copy

    model = copy.deepcopy(trained[0])
    model.gate = 0.99
    text = "what is plantar fasciitis"
    assert model.read([text], fake_embed([text]), ["numbness"], LEVELS)[2] == ["numbness"]
    # an emergency found by the lexicon is never turned into a question
    assert model.read([text], fake_embed([text]), ["cold_pale_blue_foot"], LEVELS)[2] == []
    # a sign the classifier backs is not gated
    model.gate = 0.0
    assert model.read([text], fake_embed([text]), ["numbness"], LEVELS)[2] == []


def test_the_model_reads_the_same_after_saving_and_loading(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path)
    again = ws.WarningSignModel.load(tmp_path)
    text = "since the long flight my calf is swollen and warm. what should i do?"
    vectors = fake_embed(ws.windows(text))
    assert np.allclose(model.scores(ws.windows(text), vectors), again.scores(ws.windows(text), vectors), atol=1e-5)
    assert (again.alarm, again.ask, again.ask_emergency, again.gate, again.ids) == (
        model.alarm,
        model.ask,
        model.ask_emergency,
        model.gate,
        model.ids,
    )


def test_an_emergency_sign_is_asked_about_from_a_lower_score(trained):
    """When unsure, the safer level wins: the same score puts an emergency sign in the question band
    and leaves a sign of a lower level out."""
    import copy

    model = copy.deepcopy(trained[0])
    model.alarm, model.ask, model.ask_emergency = 0.95, 0.7, 0.4
    text = "my foot went cold and my calf is warm"
    windows, vectors = ws.windows(text), fake_embed(ws.windows(text))
    model.scores = lambda texts, vectors: np.array(
        [0.5 if sid in ("cold_pale_blue_foot", "calf_clot") else 0.0 for sid in model.ids]
    )
    _, suspected, _ = model.read(windows, vectors, (), LEVELS)
    assert "cold_pale_blue_foot" in suspected and "calf_clot" not in suspected


def test_the_training_files_decide_when_rasa_retrains(tmp_path):
    first = write(tmp_path, "positives: []\nnegatives: []\n")
    before = ws.files_digest([first])
    first.write_text("positives: []\nnegatives:\n  - my heel hurts\n", encoding="utf-8")
    assert ws.files_digest([first]) != before


def test_the_signs_levels_are_read_through_the_checked_content_reader(tmp_path):
    from footcare_content.files import ContentError
    from footnlp.warning_signs import sign_levels

    assert set(sign_levels().values()) <= {"emergency", "same_day", "soon"}
    bad = tmp_path / "safety.yml"
    bad.write_text("red_flags:\n  calf_clot: {level: whenever}\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"red_flags\.calf_clot\.level"):
        sign_levels(bad)
    bad.write_text("red_flags: [\n", encoding="utf-8")
    with pytest.raises(ContentError, match="not valid YAML at line"):
        sign_levels(bad)
