"""Rasa 3.6 dense featurizer: the sentence encoder's vector for the whole message.

config.yml::

    - name: footnlp.sentence_featurizer.SentenceEncoderFeaturizer
      model: build/minilm          # built by `make train` (python -m footnlp.encoder)

It adds one dense *sentence* feature (384 numbers, the mean-pooled, unit-length
all-MiniLM-L6-v2 vector, see footnlp.encoder) to every message's text.  The
intent classifier then sees what the pretrained model knows about English, not
only the words of the training data.  The vector is also kept on the message
(``footcare_embedding``) for the components after it (the nearest known
questions for "Did you mean", the similarity safety detector).  At inference the
pieces those components read (each part of a message with several, what follows
a greeting; footnlp.parts) are encoded in the same batch and kept by text
(``footcare_piece_vectors``), so one message costs one encoder call.

The model folder is not packed into the Rasa model: like the spaCy pipeline,
it is built by `make train` into build/ and checked (hashes) there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from footnlp.encoder import DEFAULT_DIR, DIM, ONNX_FILE, load_encoder
from footnlp.parts import greeting_lead
from footnlp.warning_signs import windows

#: where the message's vector is kept for later components (not sent to clients)
EMBEDDING_KEY = "footcare_embedding"
#: {text: vector} of the message's pieces, for the same components
PIECES_KEY = "footcare_piece_vectors"


def message_embedding(message: Message) -> Optional[np.ndarray]:
    """The unit-length sentence vector the featurizer put on `message`, if any."""
    vector = message.get(EMBEDDING_KEY)
    return vector if isinstance(vector, np.ndarray) else None


def pieces(text: str) -> List[str]:
    """What later components read besides the whole message: its parts and pairs of
    neighbouring parts, when it has several (footnlp.warning_signs.windows), and what follows a
    greeting ("hi! can massage help?" -> "can massage help?")."""
    found = windows(text)
    lead, rest = greeting_lead(text)
    if lead and rest:
        found = [*found, rest]
    return [piece for piece in dict.fromkeys(found) if piece != text]


def piece_vectors(message: Optional[Message], texts: Sequence[str], encoder) -> np.ndarray:
    """Vectors of `texts`: those the featurizer encoded with `message`, the others now, in one batch."""
    known: Dict[str, np.ndarray] = dict((message.get(PIECES_KEY) if message is not None else None) or {})
    whole = message_embedding(message) if message is not None else None
    if whole is not None:
        known[message.get(TEXT)] = whole
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        known.update(zip(missing, encoder.embed(missing)))
    return np.stack([known[t] for t in texts]) if texts else np.zeros((0, DIM), dtype=np.float32)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the all-MiniLM-L6-v2 sentence vector as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model": str(DEFAULT_DIR)}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """The model folder must hold a built encoder (`make train` builds it)."""
        folder = Path(config.get("model") or DEFAULT_DIR)
        if not (folder / ONNX_FILE).is_file():
            raise InvalidConfigException(
                f"{cls.__name__}: {folder} holds no sentence encoder; "
                f"build it with `make train` (python -m footnlp.encoder --out {folder})"
            )

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEncoderFeaturizer":
        return cls(config, execution_context.node_name)

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)
        self.validate_config(self._config)
        self.encoder = load_encoder(self._config["model"])

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)], with_pieces=False)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([m for m in messages if m.get(TEXT)], with_pieces=True)
        return messages

    def _featurize(self, messages: List[Message], with_pieces: bool) -> None:
        if not messages:
            return
        extra = [pieces(m.get(TEXT)) if with_pieces else [] for m in messages]
        texts = [m.get(TEXT) for m in messages] + [t for more in extra for t in more]
        vectors = self.encoder.embed(texts)
        start = len(messages)
        for message, vector, more in zip(messages, vectors, extra):
            message.set(EMBEDDING_KEY, vector)
            message.set(PIECES_KEY, dict(zip(more, vectors[start : start + len(more)])))
            start += len(more)
            self.add_features_to_message(sequence=None, sentence=vector[None, :], attribute=TEXT, message=message)
