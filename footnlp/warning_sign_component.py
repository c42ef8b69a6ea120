"""Rasa 3.6 component of the learned warning-sign detector (footnlp.warning_signs).

config.yml, after the sentence featurizer and the entity extractor::

    - name: footnlp.warning_sign_component.WarningSignClassifier
      training_files: ["data/warning_signs/*.yml", tests/red_flags.yml]

It trains with the Rasa model (`rasa train`) on the labelled warning-sign
messages of ``training_files`` (not on the NLU data; a change in those files
retrains it) and adds to the message's ``footcare_safety`` findings:

- ``learned``: {sign id: score} for signs at or above the alarm threshold
  (whether or not the lexicon found them too);
- ``suspected``: {sign id: score} for signs in the question band that neither
  detector found (the action server asks a screening question about them);
- ``gated``: the lexicon's signs the classifier does not back (below the
  emergency level, every sign's score under the gate): asked about, not raised.

Signs the lexicon saw negated, over or as a general question in the same
message are left out ("no swelling at all", "had a fever last week"), and so
is everything in a message where the writer says a doctor has checked it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from footnlp.encoder import load_encoder
from footnlp.findings import FINDINGS_KEY, safety_findings, silenced
from footnlp.pipeline import load_pipeline
from footnlp.rasa_component import footnlp_doc
from footnlp.sentence_featurizer import SentenceEncoderFeaturizer, piece_vectors
from footnlp.warning_signs import (
    DEFAULT_TRAINING,
    SAFETY_FILE,
    WarningSignModel,
    files_digest,
    load_training,
    sign_levels,
    training_paths,
    windows,
)

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class WarningSignClassifier(GraphComponent):
    """Adds the warning signs a message tells in its own words (``learned``) or hints at (``suspected``)."""

    @classmethod
    def required_components(cls) -> List[type]:
        # FootcareEntityExtractor must come before it too (it puts the findings on the message), but
        # an extractor is not part of the training graph, which Rasa checks against this list
        return [SentenceEncoderFeaturizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "training_files": list(DEFAULT_TRAINING),
            "C": 16.0,
            # at most this share of the training look-alikes (out of fold) raises a sign ...
            "alarm_rate": 0.03,
            # ... or gets a screening question
            "ask_rate": 0.10,
            # an emergency sign is asked about from the score at which this share of them would
            # be (counted in ask_rate): when unsure, the safer level wins
            "emergency_ask_rate": 0.03,
            # at most this share of the training warning-sign messages the lexicon catches is
            # asked about instead, because the classifier does not back the lexicon
            "gate_rate": 0.01,
            "model": None,  # the sentence encoder folder; default: SentenceEncoderFeaturizer's
        }

    @classmethod
    def fingerprint_addon(cls, config: Dict[str, Any]) -> Optional[str]:
        """The training files are not Rasa training data: their contents decide when to retrain."""
        return files_digest(training_paths(config.get("training_files") or DEFAULT_TRAINING) + [SAFETY_FILE])

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[WarningSignModel] = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage, self._resource = model_storage, resource
        self.model = model or self._new_model()
        self.levels = sign_levels()
        self.encoder = load_encoder(self.config["model"] or SentenceEncoderFeaturizer.get_default_config()["model"])

    def _new_model(self) -> WarningSignModel:
        return WarningSignModel(
            C=float(self.config["C"]),
            alarm_rate=float(self.config["alarm_rate"]),
            ask_rate=float(self.config["ask_rate"]),
            gate_rate=float(self.config["gate_rate"]),
            emergency_ask_rate=float(self.config["emergency_ask_rate"]),
        )

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "WarningSignClassifier":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config, model_storage, resource, execution_context, **kwargs: Any) -> "WarningSignClassifier":
        try:
            with model_storage.read_from(resource) as path:
                model = WarningSignModel.load(Path(path))
        except (ValueError, FileNotFoundError):
            model = None
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        levels = self.levels
        paths = training_paths(self.config["training_files"])
        if not paths:
            logger.warning(
                "No warning-sign training files match %s: the classifier finds nothing", self.config["training_files"]
            )
        positives, negatives = load_training(paths, levels)
        nlp = load_pipeline()

        def lexicon(text: str) -> List[str]:
            return safety_findings(nlp(text))["red_flags"]

        figures = self.model.fit(positives, negatives, self.encoder.embed, sorted(levels), lexicon, levels)
        logger.info("Warning-sign classifier: %s", figures)
        with self._storage.write_to(self._resource) as path:
            self.model.save(Path(path))
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text, findings = message.get(TEXT), message.get(FINDINGS_KEY)
            if not text or not isinstance(findings, dict) or not self.model.trained:
                continue
            quiet, cleared = silenced(footnlp_doc(message))
            texts = windows(text)
            scores = self.model.scores(texts, piece_vectors(message, texts, self.encoder))
            added = self.model.additions(scores, findings, quiet, cleared, self.levels)
            message.set(FINDINGS_KEY, {**findings, **added}, add_to_output=True)
        return messages
