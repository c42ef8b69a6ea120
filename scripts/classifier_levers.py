"""Measures levers for the intent classifier against the shipped one, on every NLU test set.

Each row is the shipped classifier's logistic regression (C, class weights, character
and word n-grams from EncoderIntentClassifier's defaults) over the whole message, with
one change to its sentence vector:

- ``shipped``: the frozen all-MiniLM-L6-v2 vector of the message;
- ``question``: the vector of the message beside the vector of its asking parts
  (footnlp.parts), so a long story's question weighs more;
- ``fine-tuned``: the encoder fine-tuned on data/nlu (a classification head over the
  mean-pooled vector, Adam, ``--epochs`` passes), then its vectors;
- ``words at W``: the shipped vector, with the words and word pairs weighed W against
  the character n-grams (``--word-weights``; the shipped weight is the component's default).

Beside the test sets, each row has a figure from the training data alone: every
collection of quoted real messages (``data/nlu/real_quoted_*.yml``) left out in turn
and scored by a classifier trained on the rest (``--collections``; about a minute a
collection and a row).

The figures are for the classifier alone (no fallback, no reading of parts), so they
compare levers, not the assistant; docs/evaluation.md records a run.  The fine-tuning
takes about 4 minutes on two cores.

    python scripts/classifier_levers.py [--epochs 2] [--lr 3e-5] [--no-tune] [--collections]
                                        [--word-weights 0.5 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nlu_report import SETS  # noqa: E402
from rasa.shared.nlu.training_data.loading import load_data  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from footnlp.encoder import DEFAULT_DIR, Encoder, mean_pooled  # noqa: E402
from footnlp.intent_classifier import EncoderIntentClassifier  # noqa: E402
from footnlp.parts import asks, split_parts  # noqa: E402

SEED = 2026


def examples(path: Path):
    return [(m.get("text"), m.get("intent")) for m in load_data(str(path)).intent_examples]


def left_out(files, vector_of, word_weight=None) -> float:
    """Accuracy on the quoted real collections, each scored by a classifier trained without it."""
    right = total = 0
    for held in (name for name in files if name.startswith("real_quoted")):
        train = [row for name, rows in files.items() if name != held for row in rows]
        figure = score(train, {"held": files[held]}, vector_of, word_weight)["held"]
        right, total = right + figure * len(files[held]), total + len(files[held])
    return right / total


def question_text(text: str) -> str:
    parts = split_parts(text)
    asking = [p for p in parts if asks(p)]
    return " ".join(asking) if asking and len(parts) > 1 else text


def fine_tune(encoder: Encoder, train, epochs: float, lr: float, batch_size: int = 32, max_tokens: int = 64) -> float:
    """Trains `encoder.model` in place with a classification head over its pooled vector (so
    `encoder.embed` gives the fine-tuned vectors after); returns the seconds it took."""
    import tensorflow as tf

    tf.random.set_seed(SEED)
    labels = sorted({i for _, i in train})
    index = {name: k for k, name in enumerate(labels)}
    head = tf.keras.layers.Dense(len(labels))
    optimizer = tf.keras.optimizers.Adam(lr)
    spec = tf.TensorSpec([None, None], tf.int32)

    @tf.function(input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)])
    def step(ids, mask, y):
        with tf.GradientTape() as tape:
            logits = head(mean_pooled(encoder.model, ids, mask, training=True) * 20.0)
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        variables = [v for v in encoder.model.trainable_variables if "pooler" not in v.name] + head.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    rng = np.random.RandomState(SEED)
    order = np.concatenate([rng.permutation(len(train)) for _ in range(int(np.ceil(epochs)))])
    started = time.perf_counter()
    for s in range(int(epochs * len(train) / batch_size)):
        rows = order[s * batch_size : (s + 1) * batch_size]
        ids, mask = encoder.tokens([train[i][0] for i in rows], max_tokens)
        step(ids, mask, np.array([index[train[i][1]] for i in rows], np.int32))
    return time.perf_counter() - started


def score(train, sets, vector_of, word_weight=None) -> dict:
    config = EncoderIntentClassifier.get_default_config()
    word_weight = config["word_weight"] if word_weight is None else word_weight
    shipped = EncoderIntentClassifier._vectorizer
    chars = shipped("char_wb", config["char_ngrams"])
    words = shipped("word", config["word_ngrams"])

    def features(texts, fit=False):
        if fit:
            chars.fit(texts)
            words.fit(texts)
        blocks = [vector_of(texts), chars.transform(texts), words.transform(texts) * word_weight]
        return scipy.sparse.hstack([scipy.sparse.csr_matrix(blocks[0]), *blocks[1:]]).tocsr()

    model = LogisticRegression(C=64, max_iter=config["max_iter"], class_weight="balanced")
    model.fit(features([t for t, _ in train], fit=True), [i for _, i in train])
    return {
        name: float(np.mean(model.predict(features([t for t, _ in rows])) == np.array([i for _, i in rows])))
        for name, rows in sets.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--no-tune", action="store_true", help="leave out the fine-tuned row")
    parser.add_argument("--word-weights", type=float, nargs="*", default=[], help="rows for these word weights")
    parser.add_argument("--collections", action="store_true", help="add the left-out collections' figure")
    args = parser.parse_args()

    files = {path.name: examples(path) for path in sorted((ROOT / "data" / "nlu").glob("*.yml"))}
    train = [row for rows in files.values() for row in rows]
    sets = {name: examples(ROOT / path) for name, (path, _) in SETS.items()}
    encoder = Encoder(DEFAULT_DIR, "tensorflow")  # its own copy of the model: fine-tuning changes it in place
    texts = sorted({t for t, _ in train} | {t for rows in sets.values() for t, _ in rows})
    texts = sorted(set(texts) | {question_text(t) for t in texts})
    frozen = dict(zip(texts, encoder.embed(texts)))

    shipped = lambda ts: np.stack([frozen[t] for t in ts])  # noqa: E731
    rows = {
        "shipped": score(train, sets, shipped),
        "question": score(
            train,
            sets,
            lambda ts: np.hstack([np.stack([frozen[t] for t in ts]), np.stack([frozen[question_text(t)] for t in ts])]),
        ),
    }
    for weight in args.word_weights:
        rows[f"words at {weight:g}"] = score(train, sets, shipped, weight)
    if args.collections:
        rows["shipped"]["left-out collections"] = left_out(files, shipped)
        for weight in args.word_weights:
            rows[f"words at {weight:g}"]["left-out collections"] = left_out(files, shipped, weight)
    if not args.no_tune:
        seconds = fine_tune(encoder, train, args.epochs, args.lr)
        tuned = dict(zip(texts, encoder.embed(texts)))
        rows[f"fine-tuned ({args.epochs:g} epochs, {seconds:.0f} s)"] = score(
            train, sets, lambda ts: np.stack([tuned[t] for t in ts])
        )
    columns = list(dict.fromkeys(c for figures in rows.values() for c in figures))
    print("| lever | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name, figures in rows.items():
        print(f"| {name} | " + " | ".join(f"{100 * figures[c]:.1f}%" if c in figures else "" for c in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
