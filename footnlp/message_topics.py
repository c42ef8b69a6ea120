"""Rasa 3.6 component: what a message asks, clause by clause, and what it is near.

config.yml, after the intent classifier and before the FallbackClassifier::

    - name: footnlp.message_topics.MessageTopics

Patients write more than one thing in a message ("hi! my arch has hurt for
weeks, can massage fix that?", "how do I prepare and what are the side
effects?").  The intent classifier gives one intent for the whole message; this
component reads its parts.  It uses the sentence vectors of
footnlp.sentence_featurizer (one extra encoder call, only for messages with
more than one part) and a small logistic regression over those vectors,
trained with the Rasa model on the same examples.

It adds to the parse data:

- ``footcare_topics``: the topic intents the message asks about, in the order
  it asks them, when its parts ask about two or more topics
  (``["ask_preparation", "ask_side_effects"]``); the action answers each;
- a greeting, thanks or yes/no with a question: the question's topic becomes
  the message's intent (the greeting is kept as ``footcare_greeting: true``);
- ``footcare_suggestions``: the two or three topic intents whose known
  questions (the training examples) are nearest to the message, for the
  "Did you mean" buttons when the assistant is unsure.

Topic intents are the ``intent`` fields of content/knowledge.yml's topics, plus
``ask_booking``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

import numpy as np
from footnlp.encoder import load_encoder
from footnlp.parts import PARTS_KEY, asks, split_parts
from footnlp.topics import GREETING_KEY, SUGGESTIONS_KEY, TOPICS_KEY, topic_intents
from footnlp.sentence_featurizer import SentenceEncoderFeaturizer, message_embedding
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

#: intents that may come with a question in the same message
SMALL_TALK = ("greet", "thank", "affirm", "deny", "goodbye")
#: intents that tell rather than ask; never one of several answers
STATEMENTS = ("describe_symptoms", "inform_condition")

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class MessageTopics(GraphComponent):
    """Reads the parts of a message; adds footcare_topics / footcare_suggestions."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # a part counts as asking a topic at this probability or more
            "part_threshold": 0.5,
            # nearest known questions looked at for the "Did you mean" topics
            "neighbours": 25,
            "suggestions": 3,
            "epochs": 300,
            "l2": 1e-3,
            "random_seed": 42,
            "model": None,  # the sentence encoder folder; default: SentenceEncoderFeaturizer's
        }

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        weights: Optional[Dict[str, Any]] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        weights = weights or {}
        self.labels: List[str] = list(weights.get("labels", []))
        self.W = np.asarray(weights.get("W", np.zeros((0, 0))), dtype=np.float32)
        self.b = np.asarray(weights.get("b", np.zeros(0)), dtype=np.float32)
        self.known = np.asarray(weights.get("known", np.zeros((0, 0))), dtype=np.float32)
        self.known_labels: List[str] = list(weights.get("known_labels", []))
        self.topics = topic_intents()

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "MessageTopics":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "MessageTopics":
        try:
            with model_storage.read_from(resource) as path:
                meta = json.loads((Path(path) / "labels.json").read_text(encoding="utf-8"))
                arrays = np.load(Path(path) / "weights.npz")
                weights = {**meta, **{k: arrays[k] for k in arrays.files}}
        except (ValueError, FileNotFoundError):
            weights = None
        return cls(config, model_storage, resource, weights)

    # -- training -----------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if message_embedding(m) is not None]
        if not examples:
            return self._resource
        X = np.stack([message_embedding(m) for m in examples]).astype(np.float32)
        labels = sorted({m.get(INTENT) for m in examples})
        index = {label: i for i, label in enumerate(labels)}
        y = np.array([index[m.get(INTENT)] for m in examples])
        self.labels, self.W, self.b = labels, *self._fit(X, y, len(labels))
        self.known, self.known_labels = X, [m.get(INTENT) for m in examples]
        with self._storage.write_to(self._resource) as path:
            (Path(path) / "labels.json").write_text(
                json.dumps({"labels": self.labels, "known_labels": self.known_labels}), encoding="utf-8"
            )
            np.savez_compressed(Path(path) / "weights.npz", W=self.W, b=self.b, known=self.known)
        return self._resource

    def _fit(self, X: np.ndarray, y: np.ndarray, classes: int) -> Tuple[np.ndarray, np.ndarray]:
        """Multinomial logistic regression, full-batch gradient descent (deterministic)."""
        rng = np.random.default_rng(self.config["random_seed"])
        W = rng.normal(0, 0.01, (X.shape[1], classes)).astype(np.float32)
        b = np.zeros(classes, dtype=np.float32)
        Y = np.eye(classes, dtype=np.float32)[y]
        # classes weighted by their size, so a big intent does not swallow small ones
        weight = (len(y) / (classes * np.bincount(y, minlength=classes)))[y][:, None].astype(np.float32)
        lr, l2 = 2.0, self.config["l2"]
        for _ in range(self.config["epochs"]):
            grad = (_softmax(X @ W + b) - Y) * weight / len(y)
            W -= lr * (X.T @ grad + l2 * W)
            b -= lr * grad.sum(axis=0)
        return W, b

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    # -- inference ----------------------------------------------------------

    def _predict(self, vectors: np.ndarray) -> np.ndarray:
        return _softmax(vectors @ self.W + self.b)

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.labels:
            return messages
        for message in messages:
            vector = message_embedding(message)
            if vector is None or not message.get(TEXT):
                continue
            message.set(SUGGESTIONS_KEY, self.suggestions(vector), add_to_output=True)
            self._read_parts(message)
        return messages

    def suggestions(self, vector: np.ndarray) -> List[str]:
        """Topic intents of the nearest known questions, most similar first."""
        if not len(self.known):
            return []
        similarity = self.known @ vector
        nearest = np.argsort(-similarity)[: self.config["neighbours"]]
        ordered = [self.known_labels[i] for i in nearest if self.known_labels[i] in self.topics]
        return list(dict.fromkeys(ordered))[: self.config["suggestions"]]

    def part_topics(self, parts: Sequence[str], vectors: Optional[np.ndarray] = None) -> List[Tuple[str, float]]:
        """(topic intent, probability) of each part that asks a topic, in order."""
        if vectors is None:
            encoder = load_encoder(self.config["model"] or SentenceEncoderFeaturizer.get_default_config()["model"])
            vectors = encoder.embed(list(parts))
        probabilities = self._predict(vectors)
        found: List[Tuple[str, float]] = []
        for row in probabilities:
            best = int(row.argmax())
            label, p = self.labels[best], float(row[best])
            if label in self.topics and label not in STATEMENTS and p >= self.config["part_threshold"]:
                found.append((label, p))
        return found

    def _read_parts(self, message: Message) -> None:
        parts = split_parts(message.get(TEXT))
        asking = [i for i, p in enumerate(parts) if asks(p)]
        if len(parts) < 2 or not asking:
            return
        # the safety detector already encoded the message and its parts (footnlp.safety_similarity)
        known = message.get(PARTS_KEY)
        vectors = known[1:][asking] if isinstance(known, np.ndarray) and len(known) == len(parts) + 1 else None
        found = self.part_topics([parts[i] for i in asking], vectors)
        topics = list(dict.fromkeys(label for label, _ in found))
        if not topics:
            return
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        if name in SMALL_TALK or name in STATEMENTS or name not in self.topics:
            # "hello! can massage fix my arch?": the question decides
            self._set_intent(message, topics[0], max(p for label, p in found if label == topics[0]))
            if name in SMALL_TALK:
                message.set(GREETING_KEY, name == "greet", add_to_output=True)
        elif name not in topics:
            topics.insert(0, name)
        if len(topics) > 1:
            message.set(TOPICS_KEY, topics, add_to_output=True)

    @staticmethod
    def _set_intent(message: Message, name: str, confidence: float) -> None:
        """Makes `name` the intent, first in the ranking; the replaced intent leaves the ranking."""
        old = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) not in (name, old)]
        message.set(INTENT, {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}, *ranking], add_to_output=True)
