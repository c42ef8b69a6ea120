"""Rasa 3.6 dense featurizer: the sentence encoder's vector for the whole message.

config.yml::

    - name: footnlp.sentence_featurizer.SentenceEncoderFeaturizer
      model: build/minilm          # built by `make train` (python -m footnlp.encoder)

It adds one dense *sentence* feature (384 numbers, the mean-pooled, unit-length
all-MiniLM-L6-v2 vector, see footnlp.encoder) to every message's text.  The
intent classifier then sees what the pretrained model knows about English, not
only the words of the training data.  The vector is also kept on the message
(``footcare_embedding``) for the components after it (the nearest known
questions for "Did you mean", the similarity safety detector), so a message is
encoded once.

The model folder is not packed into the Rasa model: like the spaCy pipeline,
it is built by `make train` into build/ and checked (hashes) there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import numpy as np

from footnlp.encoder import DEFAULT_DIR, load_encoder
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

#: where the message's vector is kept for later components (not sent to clients)
EMBEDDING_KEY = "footcare_embedding"


def message_embedding(message: Message) -> Optional[np.ndarray]:
    """The unit-length sentence vector the featurizer put on `message`, if any."""
    vector = message.get(EMBEDDING_KEY)
    return vector if isinstance(vector, np.ndarray) else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the all-MiniLM-L6-v2 sentence vector as a dense sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "model": str(DEFAULT_DIR)}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """The model folder must hold a built encoder (`make train` builds it)."""
        folder = Path(config.get("model") or DEFAULT_DIR)
        if not (folder / "tf_model.h5").is_file():
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
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def _featurize(self, messages: List[Message]) -> None:
        if not messages:
            return
        vectors = self.encoder.embed([m.get(TEXT) for m in messages])
        for message, vector in zip(messages, vectors):
            message.set(EMBEDDING_KEY, vector)
            self.add_features_to_message(sequence=None, sentence=vector[None, :], attribute=TEXT, message=message)
