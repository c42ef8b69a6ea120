"""Chooses the NLU fallback's two thresholds on the training data, not on a test set.

Rasa's FallbackClassifier answers "Did you mean" when the best intent's confidence is under
`threshold`, or when the two best are closer than `ambiguity_threshold`. Here every message of
data/nlu/ is classified by a classifier trained on the other four fifths (out of fold), with the
features and settings of footnlp.intent_classifier (sentence vector, character and word n-grams,
a logistic regression). Each threshold is then set where the best guess stops being right more
often than not: asking is only worth it for a message whose best topic is more likely wrong.

    python scripts/tune_fallback.py          # the tables and the two values for config.yml

Prints, per candidate, how many training messages would be asked and how often their best
guess was right.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import scipy.sparse
import yaml
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from footnlp.intent_classifier import EncoderIntentClassifier

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
#: asking beats answering when the best guess is right less often than this
RIGHT_LESS_THAN = 0.5


def classifier_config() -> dict:
    """footnlp.intent_classifier's settings, as config.yml gives them."""
    pipeline = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))["pipeline"]
    given = next(c for c in pipeline if c["name"].endswith(EncoderIntentClassifier.__name__))
    return {**EncoderIntentClassifier.get_default_config(), **{k: v for k, v in given.items() if k != "name"}}


def features(config: dict, train_texts, texts, train_vectors, vectors):
    """footnlp.intent_classifier's three views (its own vectorizers), fitted on the training fold."""
    chars = EncoderIntentClassifier._vectorizer("char_wb", config["char_ngrams"])
    words = EncoderIntentClassifier._vectorizer("word", config["word_ngrams"])
    chars.fit(train_texts)
    words.fit(train_texts)

    def view(t, v):
        blocks = [scipy.sparse.csr_matrix(v), chars.transform(t), words.transform(t) * config["word_weight"]]
        return scipy.sparse.hstack(blocks).tocsr()

    return view(train_texts, train_vectors), view(texts, vectors)


def out_of_fold(texts, labels, vectors, folds: int = 5, seed: int = 42) -> np.ndarray:
    """(n, 3): each message's best probability, its margin over the second best, and whether the best was right."""
    config = classifier_config()
    labels = np.asarray(labels)
    out = np.zeros((len(texts), 3))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
        X_train, X_test = features(
            config, [texts[i] for i in train], [texts[i] for i in test], vectors[train], vectors[test]
        )
        model = LogisticRegression(C=config["C"], max_iter=config["max_iter"], class_weight="balanced")
        model.fit(X_train, labels[train])
        probabilities = model.predict_proba(X_test)
        ranked = np.sort(probabilities, axis=1)
        out[test, 0] = ranked[:, -1]
        out[test, 1] = ranked[:, -1] - ranked[:, -2]
        out[test, 2] = model.classes_[probabilities.argmax(axis=1)] == labels[test]
    return out


def choose(scores: np.ndarray) -> tuple[float, float, list[str]]:
    """The highest threshold, then the highest margin, whose asked messages are right less than half the time."""
    lines = ["| confidence under | messages asked | their best guess right |", "| ---: | ---: | ---: |"]
    threshold = 0.0
    for t in THRESHOLDS:
        asked = scores[scores[:, 0] < t]
        right = asked[:, 2].mean() if len(asked) else float("nan")
        lines.append(f"| {t:.2f} | {len(asked)} | {right:.1%} |")
        if len(asked) and right < RIGHT_LESS_THAN:
            threshold = t
    lines += [
        "",
        "| margin under (confidence above the threshold) | messages asked | their best guess right |",
        "| ---: | ---: | ---: |",
    ]
    margin = 0.0
    confident = scores[scores[:, 0] >= threshold]
    for m in MARGINS[1:]:
        asked = confident[confident[:, 1] < m]
        right = asked[:, 2].mean() if len(asked) else float("nan")
        lines.append(f"| {m:.2f} | {len(asked)} | {right:.1%} |")
        if len(asked) and right < RIGHT_LESS_THAN:
            margin = m
    return threshold, margin, lines


def sweep_table(folds: int = 5) -> str:
    """The tables and the chosen values, as Markdown (make evaluate puts them in docs/evaluation.md)."""
    from footnlp.encoder import load_encoder

    examples = [m for f in sorted((ROOT / "data" / "nlu").glob("*.yml")) for m in load_data(str(f)).intent_examples]
    texts = [m.get("text") for m in examples]
    labels = [m.get("intent") for m in examples]
    scores = out_of_fold(texts, labels, load_encoder().embed(texts), folds)
    threshold, margin, lines = choose(scores)
    return "\n".join(
        [
            f"{len(texts)} training messages, {folds}-fold out-of-fold accuracy {scores[:, 2].mean():.1%}.",
            "",
            *lines,
            "",
            f"Chosen: `threshold: {threshold}`, `ambiguity_threshold: {margin}`.",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    print(sweep_table(parser.parse_args().folds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
