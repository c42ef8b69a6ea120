"""Rasa 3.6 intent classifier over the sentence encoder, and what a message asks part by part.

config.yml, after footnlp.sentence_featurizer.SentenceEncoderFeaturizer::

    - name: footnlp.intent_classifier.EncoderIntentClassifier

The classifier is a logistic regression (classes weighted by their size) over
three views of a message: the all-MiniLM-L6-v2 sentence vector (what the
pretrained model knows about English); character n-grams of the words as typed
and, at a lower weight, words and word pairs (tf-idf, so typos and word forms
still match).  It reads the text itself, so a part of a message ("can massage
fix that?") is classified exactly like a whole one.  On the real
patient questions it scored higher than DIET over the same features
(docs/evaluation.md), and it trains in seconds.

Patients write more than one thing in a message ("hi! my arch has hurt for
weeks, can massage fix that?", "how do I prepare and what are the side
effects?").  The same classifier reads the message's parts (footnlp.parts):

- ``footcare_topics``: the topic intents the parts ask about, in the order
  asked, when there are two or more; the action answers each;
- a greeting, thanks or statement with a question: the question's topic
  becomes the intent (``footcare_greeting: true`` after a greeting);
- ``footcare_suggestions``: the topic intents of the nearest known questions
  (training examples, by the encoder), for the "Did you mean" buttons.

A long message that names nothing of the assistant's subject is ``out_of_scope``
whatever the model says (footnlp.scope, content/scope.yml).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from footnlp.encoder import load_encoder
from footnlp.parts import asks, greeting_lead, split_parts
from footnlp.rasa_component import footnlp_doc
from footnlp.scope import load_scope
from footnlp.sentence_featurizer import SentenceEncoderFeaturizer, message_embedding, piece_vectors
from footnlp.spelling import common_words
from footnlp.topics import GREETING_KEY, SUGGESTIONS_KEY, TOPICS_KEY, topic_intents

#: intents that may come with a question in the same message
SMALL_TALK = ("greet", "thank", "affirm", "deny", "goodbye")
GREETINGS = ("hi", "hello", "hey", "hiya", "good ", "greetings")
#: intents that tell rather than ask; never one of several answers
STATEMENTS = ("describe_symptoms", "inform_condition")
OUT_OF_SCOPE = "out_of_scope"
RANKING_LENGTH = 10
_WORD = re.compile(r"[a-z]+")


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class EncoderIntentClassifier(GraphComponent, IntentClassifier):
    """Logistic regression over the sentence vector and character n-grams; reads a message's parts."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "C": 64.0,  # inverse regularisation strength of the logistic regression
            "max_iter": 3000,
            "char_ngrams": [2, 4],
            "word_ngrams": [1, 2],
            "word_weight": 1.0,  # words and word pairs weigh as much as the character n-grams (docs/evaluation.md)
            # a part counts as asking a topic at this probability or more
            "part_threshold": 0.5,
            # with a single question part whose topic differs from the whole message's, that part
            # is answered too only at this probability or more
            "second_topic_threshold": 0.9,
            # nearest known questions looked at for the "Did you mean" topics
            "neighbours": 25,
            "suggestions": 3,
            # a message less similar than this to every known question falls back (chosen on
            # tests/nlu_unclear.yml and the hold-out: no hold-out or real question is that far)
            "min_similarity": 0.35,
            "model": None,  # the sentence encoder folder; default: SentenceEncoderFeaturizer's
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        state = state or {}
        self.labels: List[str] = list(state.get("labels", []))
        self.coef = np.asarray(state.get("coef", np.zeros((0, 0))), dtype=np.float32)
        self.intercept = np.asarray(state.get("intercept", np.zeros(0)), dtype=np.float32)
        self.known = np.asarray(state.get("known", np.zeros((0, 0))), dtype=np.float32)
        self.known_labels: List[str] = list(state.get("known_labels", []))
        self.chars = self._vectorizer("char_wb", self.config["char_ngrams"], state.get("chars"), state.get("chars_idf"))
        self.words = self._vectorizer("word", self.config["word_ngrams"], state.get("words"), state.get("words_idf"))
        self.topics = topic_intents()
        self.scope = load_scope()
        self._vocabulary: Optional[set] = None
        self._weights: Optional[np.ndarray] = None

    @staticmethod
    def _vectorizer(
        analyzer: str,
        ngrams: Sequence[int],
        vocabulary: Optional[Dict[str, int]] = None,
        idf: Optional[np.ndarray] = None,
    ) -> TfidfVectorizer:
        vectorizer = TfidfVectorizer(
            analyzer=analyzer,
            ngram_range=tuple(ngrams),
            sublinear_tf=True,
            min_df=2 if analyzer == "char_wb" else 1,
            lowercase=True,
            vocabulary=vocabulary,
        )
        if vocabulary is not None and idf is not None:
            vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        return vectorizer

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "EncoderIntentClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "EncoderIntentClassifier":
        try:
            with model_storage.read_from(resource) as path:
                meta = json.loads((Path(path) / "classifier.json").read_text(encoding="utf-8"))
                arrays = np.load(Path(path) / "classifier.npz")
                state = {**meta, **{k: arrays[k] for k in arrays.files}}
        except (ValueError, FileNotFoundError):
            state = None  # not trained (no intents in the data)
        return cls(config, model_storage, resource, state)

    # -- features -------------------------------------------------------------

    def _features(self, texts: Sequence[str], vectors: np.ndarray) -> scipy.sparse.csr_matrix:
        """The same three views for a whole message and for a part of one."""
        blocks = [
            scipy.sparse.csr_matrix(vectors),
            self.chars.transform(texts),
            self.words.transform(texts) * self.config["word_weight"],
        ]
        return scipy.sparse.hstack(blocks).tocsr()

    def _probabilities(self, X: scipy.sparse.csr_matrix) -> np.ndarray:
        # the weights transposed once, contiguous: scipy would copy a transposed view on every call
        if self._weights is None:
            self._weights = np.ascontiguousarray(self.coef.T)
        return _softmax(np.asarray(X @ self._weights) + self.intercept)

    # -- training -----------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if message_embedding(m) is not None]
        if len({m.get(INTENT) for m in examples}) < 2:
            return self._resource
        texts = [m.get(TEXT) for m in examples]
        vectors = np.stack([message_embedding(m) for m in examples]).astype(np.float32)
        self.chars.fit(texts)
        self.words.fit(texts)
        X = self._features(texts, vectors)
        y = [m.get(INTENT) for m in examples]
        model = LogisticRegression(C=self.config["C"], max_iter=self.config["max_iter"], class_weight="balanced")
        model.fit(X, y)
        self.labels = [str(c) for c in model.classes_]
        self.coef, self.intercept = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
        self._weights = None
        self.known, self.known_labels = vectors, y
        vocabularies = {
            name: {str(k): int(v) for k, v in vec.vocabulary_.items()}
            for name, vec in (("chars", self.chars), ("words", self.words))
        }
        with self._storage.write_to(self._resource) as path:
            (Path(path) / "classifier.json").write_text(
                json.dumps({"labels": self.labels, "known_labels": self.known_labels, **vocabularies}), encoding="utf-8"
            )
            np.savez_compressed(
                Path(path) / "classifier.npz",
                coef=self.coef,
                intercept=self.intercept,
                known=self.known,
                chars_idf=self.chars.idf_,
                words_idf=self.words.idf_,
            )
        return self._resource

    # -- inference ----------------------------------------------------------

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            vector = message_embedding(message)
            if not self.labels or vector is None or not message.get(TEXT):
                continue
            if self._off_topic(message):
                continue
            X = self._features([message.get(TEXT)], vector[None, :])
            probabilities = self._probabilities(X)[0]
            order = np.argsort(-probabilities)[:RANKING_LENGTH]
            ranking = [
                {INTENT_NAME_KEY: self.labels[i], PREDICTED_CONFIDENCE_KEY: float(probabilities[i])} for i in order
            ]
            if self.unfamiliar(message.get(TEXT), vector):
                # no English word we know, or far from every known question: let the fallback ask
                ranking = [{**r, PREDICTED_CONFIDENCE_KEY: 0.0} for r in ranking]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(SUGGESTIONS_KEY, self.suggestions(vector), add_to_output=True)
            self._read_greeting(message)
            self._read_parts(message)
        return messages

    def _off_topic(self, message: Message) -> bool:
        """A long message about nothing the assistant covers is out of scope, whatever the model says."""
        try:
            doc = footnlp_doc(message)
        except ValueError:  # no footnlp pipeline before this classifier: no rule
            return False
        if OUT_OF_SCOPE not in self.labels or not self.scope.off_topic(message.get(TEXT), doc):
            return False
        top = {INTENT_NAME_KEY: OUT_OF_SCOPE, PREDICTED_CONFIDENCE_KEY: 1.0}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top], add_to_output=True)
        message.set(SUGGESTIONS_KEY, [], add_to_output=True)
        return True

    def unfamiliar(self, text: str, vector: np.ndarray) -> bool:
        """Gibberish ("qwzx vbnm plok"): no word is English or known, or nothing known is near."""
        words = _WORD.findall(text.lower())
        if self._vocabulary is None:
            self._vocabulary = common_words() | {w for w in self.words.vocabulary_ if " " not in w}
        if words and not any(w in self._vocabulary for w in words):
            return True
        return bool(len(self.known)) and float((self.known @ vector).max()) < self.config["min_similarity"]

    def suggestions(self, vector: np.ndarray) -> List[str]:
        """Topic intents of the nearest known questions, most similar first."""
        nearest = np.argsort(-(self.known @ vector))[: self.config["neighbours"]]
        ordered = [self.known_labels[i] for i in nearest if self.known_labels[i] in self.topics]
        return list(dict.fromkeys(ordered))[: self.config["suggestions"]]

    def part_topics(self, parts: Sequence[str], message: Optional[Message] = None) -> List[Tuple[str, float]]:
        """(topic intent, probability) of each part that asks a topic, in order."""
        return [
            (label, p)
            for label, p in self.classify(parts, message)
            if label in self.topics and label not in STATEMENTS and p >= self.config["part_threshold"]
        ]

    def _read_greeting(self, message: Message) -> None:
        """ "hello! my arch has hurt for weeks, can massage fix that?": what follows the greeting decides."""
        lead, rest = greeting_lead(message.get(TEXT))
        if not lead or not rest:
            return
        intent = message.get(INTENT) or {}
        whole, confidence = intent.get(INTENT_NAME_KEY), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0)
        [(label, p)] = self.classify([rest], message)
        if label in self.topics and (p > confidence or whole in SMALL_TALK):
            self._set_intent(message, label, p)
        if (message.get(INTENT) or {}).get(INTENT_NAME_KEY) in self.topics and lead.lower().startswith(GREETINGS):
            message.set(GREETING_KEY, True, add_to_output=True)

    def classify(self, texts: Sequence[str], message: Optional[Message] = None) -> List[Tuple[str, float]]:
        """(best intent, probability) for texts that are not Rasa messages (pieces of `message`)."""
        encoder = load_encoder(self.config["model"] or SentenceEncoderFeaturizer.get_default_config()["model"])
        X = self._features(list(texts), piece_vectors(message, list(texts), encoder))
        return [(self.labels[int(row.argmax())], float(row.max())) for row in self._probabilities(X)]

    def _read_parts(self, message: Message) -> None:
        parts = split_parts(message.get(TEXT))
        asking = [i for i, p in enumerate(parts) if asks(p)]
        if len(parts) < 2 or not asking:
            return
        found = self.part_topics([parts[i] for i in asking], message)
        topics = list(dict.fromkeys(label for label, _ in found))
        if not topics:
            return
        intent = message.get(INTENT) or {}
        name, confidence = intent.get(INTENT_NAME_KEY), float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0)
        first = max(p for label, p in found if label == topics[0])
        if name in self.topics and name not in STATEMENTS and (name in topics or confidence >= first):
            if name not in topics:  # the whole message asks one more thing than its parts show
                if len(found) == 1 and first < self.config["second_topic_threshold"]:
                    # one question, read less surely alone than with the rest of the message ("I'm
                    # 24 weeks pregnant, is fascia massage ok for my feet?" asks about pregnancy only)
                    topics = []
                topics.insert(0, name)
            own = max((p for label, p in found if label == name), default=0.0)
            if own > confidence:  # its question part says it more clearly than the whole message
                self._set_intent(message, name, own)
        else:
            # "no numbness, just heel pain. what should I wear?": the question decides
            self._set_intent(message, topics[0], first)
        if len(topics) > 1:
            message.set(TOPICS_KEY, topics, add_to_output=True)

    @staticmethod
    def _set_intent(message: Message, name: str, confidence: float) -> None:
        """Makes `name` the intent, first in the ranking; the replaced intent leaves the ranking."""
        old = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) not in (name, old)]
        top = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
