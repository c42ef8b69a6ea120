"""The learned warning-sign detector: which warning signs a message tells, from labelled examples.

The lexicon (content/lexicon.yml) finds warning signs by their words and is
precise.  People often tell a sign as a story of what happened ("felt like
someone kicked the back of my ankle", "since the flight my calf is tight and
warm"), in words no lexicon lists.  This detector learns those stories from
labelled examples (``data/warning_signs/*.yml`` and the written set
``tests/red_flags.yml``): one logistic regression per warning sign of
content/safety.yml over

- the all-MiniLM-L6-v2 sentence vector (what the pretrained model knows),
- tf-idf word unigrams and bigrams ("no swelling", "last week"), and
- character n-grams of the words as typed (typos, UK and US spellings),

read on *windows* of the message: the whole message, each of its parts
(footnlp.parts) and each pair of neighbouring parts, so that a sign told over
two sentences ("after my operation ... now my calf is swollen") and a sign in
one sentence of a long post are both seen.  A sign's score is its highest
probability over the windows.

Three thresholds, all chosen on the training data only (out-of-fold
probabilities of a 5-fold cross-validation, so the examples do not judge
themselves):

- ``alarm``: the lowest score at which at most ``alarm_rate`` of the training
  look-alikes raise a sign; at or above it the sign counts as found;
- ``ask_emergency``: the lowest score at which at most ``emergency_ask_rate``
  of the training look-alikes score an emergency sign (a blocked blood supply,
  a clot in the lung, sepsis) that high.  When unsure, the safer level wins: an
  emergency sign is asked about from this lower score on;
- ``ask``: for the other signs, the lowest score at which at most ``ask_rate``
  of the training look-alikes get a question (counting those asked about an
  emergency sign, and those the gate below sends to one); between the sign's
  question threshold and ``alarm`` the sign is *suspected* and the assistant
  asks a screening question (actions/safety/screening.py);
- ``gate``: a second opinion on the lexicon.  When the lexicon finds only
  signs below the emergency level and the classifier scores every sign below
  ``gate``, those signs are asked about instead of raised ("my foot went to
  sleep on the loo, back to normal now").  It is the highest score at which at
  most ``gate_rate`` of the training warning-sign messages the lexicon catches
  would be asked instead.

Plain module (numpy, scikit-learn); the Rasa component is
footnlp.warning_sign_component.WarningSignClassifier, and scripts/warning_signs.py
checks the files (`make validate`) and prints cross-validated figures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import scipy.sparse
import yaml
from joblib import Parallel, delayed
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from footcare_content.files import ContentError, load_yaml, require_mapping
from footnlp.parts import split_parts

ROOT = Path(__file__).resolve().parent.parent
SAFETY_FILE = ROOT / "content" / "safety.yml"
#: the training files, relative to the project root, as glob patterns (config.yml may name others)
DEFAULT_TRAINING = ("data/warning_signs/*.yml", "tests/red_flags.yml")
LEVELS = ("emergency", "same_day", "soon")
#: windows read at most per message (the whole, the parts, neighbouring pairs)
MAX_WINDOWS = 24
FOLDS = 5
SEED = 2026


class ExamplesError(ValueError):
    """A training or test file of warning-sign messages is not well formed."""


def sign_levels(path: Path = SAFETY_FILE) -> Dict[str, str]:
    """{warning-sign id: level} from content/safety.yml, read by the content files' one reader
    (actions.safety.content checks the rest of the file for the action server)."""
    signs = require_mapping(path, load_yaml(path), "red_flags")
    levels = {}
    for sid, body in signs.items():
        level = body.get("level") if isinstance(body, Mapping) else None
        if level not in LEVELS:
            raise ContentError(path, f"red_flags.{sid}.level", f"must be one of {', '.join(LEVELS)}")
        levels[sid] = level
    return levels


def level_of(ids: Iterable[str], levels: Mapping[str, str]) -> Optional[str]:
    """The most urgent level among these ids, or None."""
    found = {levels[i] for i in ids if i in levels}
    return next((level for level in LEVELS if level in found), None)


@dataclass(frozen=True)
class Examples:
    """Labelled messages of one file: (text, ids, level) positives and plain negatives."""

    positives: Tuple[Tuple[str, Tuple[str, ...], str], ...]
    negatives: Tuple[str, ...]
    source: str


def read_examples(path: Path, levels: Optional[Mapping[str, str]] = None) -> Examples:
    """Read and check a file of warning-sign messages (the format of tests/red_flags.yml)."""
    levels = levels or sign_levels()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ExamplesError(f"{path}: cannot be read ({exc})") from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("positives"), list)
        or not isinstance(data.get("negatives"), list)
    ):
        raise ExamplesError(f"{path}: needs two lists, positives and negatives")
    positives = []
    for n, case in enumerate(data["positives"]):
        where = f"{path}: positives[{n}]"
        if not isinstance(case, dict) or not isinstance(case.get("text"), str) or not case["text"].strip():
            raise ExamplesError(f"{where} needs a text")
        ids = case.get("expect")
        if not isinstance(ids, list) or not ids or any(i not in levels for i in ids):
            raise ExamplesError(f"{where}.expect must list warning-sign ids of content/safety.yml, got {ids!r}")
        if case.get("level") != level_of(ids, levels):
            raise ExamplesError(
                f"{where}.level must be {level_of(ids, levels)} (the most urgent of {ids}), got {case.get('level')!r}"
            )
        positives.append((case["text"].strip(), tuple(ids), case["level"]))
    negatives = []
    for n, case in enumerate(data["negatives"]):
        text = case if isinstance(case, str) else (case.get("text") if isinstance(case, dict) else None)
        if not isinstance(text, str) or not text.strip():
            raise ExamplesError(f"{path}: negatives[{n}] must be a text or have one")
        negatives.append(text.strip())
    return Examples(tuple(positives), tuple(negatives), str(path))


def windows(text: str) -> List[str]:
    """What the detector reads: the whole message, its parts, and each pair of neighbouring parts."""
    parts = split_parts(text)
    out = [text]
    if len(parts) > 1:
        out += parts + [f"{a} {b}" for a, b in zip(parts, parts[1:])]
    return list(dict.fromkeys(w for w in out if w.strip()))[:MAX_WINDOWS]


def training_paths(patterns: Sequence[str], root: Path = ROOT) -> List[Path]:
    """The files the patterns name, relative to `root`, sorted (a pattern without a match names nothing)."""
    return [p for pattern in patterns for p in sorted(root.glob(pattern))]


def files_digest(paths: Sequence[Path]) -> str:
    """A digest of the training files' contents (Rasa retrains the detector when it changes)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode())
        digest.update(Path(path).read_bytes() if Path(path).is_file() else b"<missing>")
    return digest.hexdigest()


class WarningSignModel:
    """One logistic regression per warning sign over the encoder vector and tf-idf n-grams of each window."""

    def __init__(
        self,
        C: float = 16.0,
        alarm_rate: float = 0.03,
        ask_rate: float = 0.10,
        gate_rate: float = 0.01,
        emergency_ask_rate: float = 0.03,
        word_weight: float = 0.6,
        char_weight: float = 0.6,
        state: Optional[dict] = None,
    ) -> None:
        self.C, self.alarm_rate, self.ask_rate, self.gate_rate = C, alarm_rate, ask_rate, gate_rate
        self.emergency_ask_rate = emergency_ask_rate
        self.word_weight, self.char_weight = word_weight, char_weight
        state = state or {}
        self.ids: List[str] = list(state.get("ids", []))
        self.coef = np.asarray(state.get("coef", np.zeros((0, 0))), dtype=np.float32)
        self.intercept = np.asarray(state.get("intercept", np.zeros(0)), dtype=np.float32)
        self.alarm = float(state.get("alarm", 1.0))
        self.ask = float(state.get("ask", 1.0))
        self.ask_emergency = float(state.get("ask_emergency", self.ask))
        self.gate = float(state.get("gate", 0.0))
        self.words = self._vectorizer("word", (1, 2), state.get("words"), state.get("words_idf"))
        self.chars = self._vectorizer("char_wb", (3, 5), state.get("chars"), state.get("chars_idf"))
        self._weights: Optional[np.ndarray] = None

    @staticmethod
    def _vectorizer(analyzer, ngrams, vocabulary=None, idf=None) -> TfidfVectorizer:
        vectorizer = TfidfVectorizer(
            analyzer=analyzer, ngram_range=ngrams, sublinear_tf=True, lowercase=True, min_df=2, vocabulary=vocabulary
        )
        if vocabulary is not None and idf is not None:
            vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        return vectorizer

    @property
    def trained(self) -> bool:
        return bool(self.ids)

    # -- features ---------------------------------------------------------------

    def features(self, texts: Sequence[str], vectors: np.ndarray) -> scipy.sparse.csr_matrix:
        return scipy.sparse.hstack(
            [
                scipy.sparse.csr_matrix(vectors),
                self.words.transform(texts) * self.word_weight,
                self.chars.transform(texts) * self.char_weight,
            ]
        ).tocsr()

    # -- training -----------------------------------------------------------------

    @staticmethod
    def units(
        positives: Sequence[Tuple[str, Sequence[str]]], negatives: Sequence[str]
    ) -> Tuple[List[str], List[Tuple[str, ...]], List[int]]:
        """Training rows: each positive message whole (its parts' labels are unknown), and every
        window of each look-alike (no part of a harmless message tells a sign).  Returns texts,
        labels and the message each row comes from (for folds by message)."""
        texts, labels, group = [], [], []
        for n, (text, ids) in enumerate(positives):
            texts.append(text)
            labels.append(tuple(ids))
            group.append(n)
        for m, text in enumerate(negatives):
            for window in windows(text):
                texts.append(window)
                labels.append(())
                group.append(len(positives) + m)
        return texts, labels, group

    def _fit(self, texts: Sequence[str], vectors: np.ndarray, labels: Sequence[Tuple[str, ...]], ids: Sequence[str]):
        self.words.fit(texts)
        self.chars.fit(texts)
        X = self.features(texts, vectors)
        coef = np.zeros((len(ids), X.shape[1]), dtype=np.float32)
        intercept = np.full(len(ids), -10.0, dtype=np.float32)
        targets = {k: np.array([sid in row for row in labels], dtype=int) for k, sid in enumerate(ids)}
        targets = {k: y for k, y in targets.items() if 0 < y.sum() < len(y)}
        # one model per sign, independent of the others: fitted on all cores (the same fit as one by one,
        # up to float rounding)
        fitted = Parallel(n_jobs=-1)(delayed(_fit_sign)(X, y, self.C) for y in targets.values())
        for k, (weights, bias) in zip(targets, fitted):
            coef[k], intercept[k] = weights, bias
        self.ids, self.coef, self.intercept, self._weights = list(ids), coef, intercept, None

    def fit(
        self,
        positives: Sequence[Tuple[str, Sequence[str]]],
        negatives: Sequence[str],
        embed,
        ids: Sequence[str],
        lexicon=None,
        levels: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, float]:
        """Train on all examples; choose the thresholds from out-of-fold scores first.  `embed`:
        texts -> unit vectors; `lexicon`: text -> the warning-sign ids the lexicon finds (for the
        gate; without it there is none).  Returns the cross-validated figures at the chosen thresholds."""
        units, (oof_pos, neg_matrix) = self.cross_validate(positives, negatives, embed, ids)
        figures = self.choose_thresholds(positives, negatives, oof_pos, neg_matrix, ids, lexicon, levels)
        self._fit(*units, ids)
        return figures

    def cross_validate(self, positives, negatives, embed, ids):
        """The training rows (texts, their vectors, labels) and each message's out-of-fold scores
        (:meth:`out_of_fold`)."""
        texts, labels, group = self.units(positives, negatives)
        all_windows = sorted({w for text, _ in positives for w in windows(text)} | set(texts))
        index = {w: i for i, w in enumerate(all_windows)}
        vectors = embed(all_windows)
        oof = self.out_of_fold(positives, negatives, texts, labels, group, vectors, index, ids)
        return (texts, vectors[[index[t] for t in texts]], labels), oof

    def choose_thresholds(self, positives, negatives, oof_pos, neg_matrix, ids, lexicon=None, levels=None):
        """Set alarm, ask_emergency, gate and ask from the out-of-fold scores (see the module's
        docstring); returns the cross-validated figures at these thresholds."""
        levels = levels or {}
        emergency = np.array([levels.get(i) == "emergency" for i in ids], dtype=bool)
        oof_neg = neg_matrix.max(axis=1, initial=0.0)
        neg_emergency = neg_matrix[:, emergency].max(axis=1, initial=0.0)
        neg_other = neg_matrix[:, ~emergency].max(axis=1, initial=0.0)
        self.alarm = _threshold(oof_neg, self.alarm_rate)
        self.ask_emergency = min(_threshold(neg_emergency, self.emergency_ask_rate), self.alarm)
        neg_lexicon = [lexicon(t) for t in negatives] if lexicon is not None else [[] for _ in negatives]
        pos_lexicon = [lexicon(t) for t, _ in positives] if lexicon is not None else [[] for _ in positives]
        self.gate = self._choose_gate(pos_lexicon, oof_pos, levels) if lexicon is not None else 0.0
        gated = np.array([self.gated(found, float(s), levels) for found, s in zip(neg_lexicon, oof_neg)], dtype=bool)
        alarmed = np.array([bool(found) for found in neg_lexicon], dtype=bool) & ~gated | (oof_neg >= self.alarm)
        self.ask = self._choose_ask(neg_other, gated | (neg_emergency >= self.ask_emergency), alarmed)
        self.ask_emergency = min(self.ask_emergency, self.ask)
        pos_max = np.array([s.max(initial=0.0) for s in oof_pos])
        pos_asked = np.array([bool((s >= self._ask_thresholds(emergency)).any()) for s in oof_pos])
        neg_asked = (neg_other >= self.ask) | (neg_emergency >= self.ask_emergency) | gated
        return {
            "alarm": self.alarm,
            "ask": self.ask,
            "ask_emergency": self.ask_emergency,
            "gate": self.gate,
            "cv_classifier_caught": float(np.mean(pos_max >= self.alarm)) if len(pos_max) else 0.0,
            "cv_classifier_caught_or_asked": float(np.mean(pos_asked)) if len(pos_asked) else 0.0,
            "cv_false_alarms": float(np.mean(alarmed)),
            "cv_questions": float(np.mean(~alarmed & neg_asked)),
            "cv_lexicon_alarms_gated": float(gated.sum() / max(1, sum(bool(f) for f in neg_lexicon))),
            "positives": len(positives),
            "negatives": len(negatives),
        }

    def _ask_thresholds(self, emergency: np.ndarray) -> np.ndarray:
        """Each sign's question threshold: `ask_emergency` for the emergency signs, `ask` for the rest."""
        return np.where(emergency, self.ask_emergency, self.ask)

    def gated(self, lexicon_ids: Sequence[str], top_score: float, levels: Mapping[str, str]) -> bool:
        """Whether the lexicon's signs are asked about instead of raised: none is an emergency and the
        classifier backs no sign (its highest score is under the gate)."""
        return bool(lexicon_ids) and all(levels.get(i) != "emergency" for i in lexicon_ids) and top_score < self.gate

    def _choose_gate(self, pos_lexicon, oof_pos, levels) -> float:
        """The highest gate at which at most `gate_rate` of the training warning-sign messages the lexicon
        catches would be asked about instead."""
        caught = [(found, float(s.max(initial=0.0))) for found, s in zip(pos_lexicon, oof_pos) if found]
        gate = 0.0
        for candidate in np.arange(0.05, 0.95, 0.05):
            self.gate = float(round(candidate, 2))
            if caught and sum(self.gated(f, s, levels) for f, s in caught) / len(caught) <= self.gate_rate:
                gate = self.gate
        return gate

    def _choose_ask(self, oof_neg: np.ndarray, gated: np.ndarray, alarmed: np.ndarray) -> float:
        """The lowest question threshold at which at most `ask_rate` of the training look-alikes get a
        question (those already asked about, `gated`, count too)."""
        for candidate in sorted(set(np.round(oof_neg, 4)) | {self.alarm}):
            if candidate > self.alarm:
                break
            if np.mean(~alarmed & ((oof_neg >= candidate) | gated)) <= self.ask_rate:
                return float(min(candidate + 1e-6, self.alarm))
        return self.alarm

    def out_of_fold(self, positives, negatives, texts, labels, group, vectors, index, ids):
        """Each training message's sign scores from a model that did not see it: a list of score
        vectors for the positives, a (look-alikes x signs) matrix for the look-alikes."""
        rng = np.random.RandomState(SEED)
        fold_of = rng.randint(0, FOLDS, size=len(positives) + len(negatives))
        rows = np.array(group)
        pos_scores: List[np.ndarray] = [np.zeros(len(ids))] * len(positives)
        neg_scores = np.zeros((len(negatives), len(ids)))
        for fold in range(FOLDS):
            train = [i for i, g in enumerate(rows) if fold_of[g] != fold]
            model = WarningSignModel(self.C, word_weight=self.word_weight, char_weight=self.char_weight)
            model._fit(
                [texts[i] for i in train], vectors[[index[texts[i]] for i in train]], [labels[i] for i in train], ids
            )
            for n, (text, _) in enumerate(positives):
                if fold_of[n] == fold:
                    ws = windows(text)
                    pos_scores[n] = model.scores(ws, vectors[[index[w] for w in ws]])
            for m, text in enumerate(negatives):
                if fold_of[len(positives) + m] == fold:
                    ws = windows(text)
                    neg_scores[m] = model.scores(ws, vectors[[index[w] for w in ws]])
        return pos_scores, neg_scores

    # -- inference ------------------------------------------------------------------

    def scores(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """Each sign's highest probability over the windows `texts` (with their vectors)."""
        if not self.ids or not len(texts):
            return np.zeros(len(self.ids))
        if self._weights is None:
            self._weights = np.ascontiguousarray(self.coef.T)
        z = np.asarray(self.features(texts, vectors) @ self._weights) + self.intercept
        return (1.0 / (1.0 + np.exp(-z))).max(axis=0)

    def read(
        self,
        texts: Sequence[str],
        vectors: np.ndarray,
        lexicon: Sequence[str] = (),
        levels: Optional[Mapping[str, str]] = None,
    ) -> Tuple[Dict[str, float], Dict[str, float], List[str]]:
        """({id: score} at or above the alarm threshold, {id: score} in the question band, and the
        lexicon's ids the gate turns into questions: with `lexicon` (the ids it found) and `levels`)."""
        return self.decide(self.scores(texts, vectors), lexicon, levels)

    def decide(
        self, scores: np.ndarray, lexicon: Sequence[str] = (), levels: Optional[Mapping[str, str]] = None
    ) -> Tuple[Dict[str, float], Dict[str, float], List[str]]:
        """What :meth:`read` gives, from the signs' scores."""
        levels = levels or {}
        gated = list(lexicon) if levels and self.gated(lexicon, float(scores.max(initial=0.0)), levels) else []
        ask = self._ask_thresholds(np.array([levels.get(i) == "emergency" for i in self.ids], dtype=bool))
        found, suspected = {}, {}
        for sid, score, threshold in zip(self.ids, scores, ask):
            if score >= self.alarm:
                found[sid] = round(float(score), 3)
            elif score >= threshold:
                suspected[sid] = round(float(score), 3)
        return found, suspected, gated

    def additions(
        self,
        scores: np.ndarray,
        findings: Mapping[str, object],
        quiet: Iterable[str] = (),
        cleared: bool = False,
        levels: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, object]:
        """What the detector adds to the lexicon's `findings` (footnlp.findings) from the signs' scores:
        ``learned``, ``suspected`` and ``gated``.  Signs the lexicon saw negated, over or as a general
        question (`quiet`) are left out, and so is everything when a doctor has checked it (`cleared`)."""
        if cleared or findings.get("cleared"):
            return {"learned": {}, "suspected": {}, "gated": []}
        lexicon = list(findings.get("red_flags") or [])
        found, band, gated = self.decide(scores, lexicon, levels)
        quiet = set(quiet)
        learned = {sid: score for sid, score in found.items() if sid not in quiet}
        skip = quiet | set(learned) | set(lexicon)
        return {
            "learned": learned,
            "suspected": {sid: score for sid, score in band.items() if sid not in skip},
            "gated": gated,
        }

    # -- storage --------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder = Path(folder)
        meta = {
            "ids": self.ids,
            "alarm": self.alarm,
            "ask": self.ask,
            "ask_emergency": self.ask_emergency,
            "gate": self.gate,
            "words": {str(k): int(v) for k, v in self.words.vocabulary_.items()},
            "chars": {str(k): int(v) for k, v in self.chars.vocabulary_.items()},
        }
        (folder / "warning_signs.json").write_text(json.dumps(meta), encoding="utf-8")
        np.savez_compressed(
            folder / "warning_signs.npz",
            coef=self.coef,
            intercept=self.intercept,
            words_idf=self.words.idf_,
            chars_idf=self.chars.idf_,
        )

    @classmethod
    def load(cls, folder: Path, **config) -> "WarningSignModel":
        folder = Path(folder)
        meta = json.loads((folder / "warning_signs.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "warning_signs.npz")
        return cls(**config, state={**meta, **{k: arrays[k] for k in arrays.files}})


def _fit_sign(X: scipy.sparse.csr_matrix, y: np.ndarray, C: float) -> Tuple[np.ndarray, float]:
    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=SEED)
    model.fit(X, y)
    return model.coef_[0], float(model.intercept_[0])


def _threshold(negative_scores: np.ndarray, rate: float) -> float:
    """The lowest score at which at most `rate` of the look-alikes reach it."""
    if not len(negative_scores):
        return 0.5
    ordered = np.sort(negative_scores)[::-1]
    allowed = int(np.floor(rate * len(ordered)))
    # strictly above the (allowed+1)-th highest look-alike score
    return float(min(max(ordered[allowed] + 1e-6, 0.05), 0.999)) if allowed < len(ordered) else 0.05


def load_training(paths: Sequence[Path], levels: Optional[Mapping[str, str]] = None):
    """(positives as (text, ids), negatives) from the training files; missing files are skipped."""
    levels = levels or sign_levels()
    positives, negatives = [], []
    for path in paths:
        if not Path(path).is_file():
            continue
        examples = read_examples(Path(path), levels)
        positives += [(t, ids) for t, ids, _ in examples.positives]
        negatives += list(examples.negatives)
    return positives, negatives
