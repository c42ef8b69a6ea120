"""Rasa 3.6 components for the footcare concepts.

config.yml::

    pipeline:
    - name: SpacyNLP
      model: build/spacy_footcare
    - name: SpacyTokenizer
    - name: footnlp.rasa_component.FootcareEntityExtractor
    - name: footnlp.rasa_component.FootcareConceptFeaturizer
    ...

``FootcareEntityExtractor`` reads the spaCy doc that SpacyNLP put on the
message and adds the entities ``condition``, ``red_flag`` and
``contraindication`` (value = the concept id from content/lexicon.yml), for
mentions that are not negated.  Entities that another extractor already found
for the same type and value (or overlapping text) are not added twice.  It also
puts the message's red flags and contraindications into the parse data
(``footcare_safety``), which the action server's safety check reuses.

``FootcareConceptFeaturizer`` gives the intent classifier what the lexicon
knows: sparse features for the concepts in a message (their category, e.g.
``tool``, and the concept, e.g. ``tool:massage_ball``; negated mentions count
as ``negated:<category>``), per token and for the whole message.  "lacrosse
ball" and "tennis ball" then look alike to DIET even if only one of them is in
the training data.

SpacyNLP's ``spacy.load`` finds footnlp's spaCy components through the
project's ``spacy_factories`` entry points (pyproject.toml).  If the doc on
the message was made by another spaCy model (no footnlp annotations), the
extractor runs footnlp's own pipeline on the text instead.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, List, Optional, Set, Text, Type

import numpy as np
import scipy.sparse

from footnlp.concepts import SPAN_KEY, category_of
from footnlp.findings import FINDINGS_KEY, safety_findings
from footnlp.pipeline import load_pipeline, saved_pipeline_status
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.featurizers.sparse_featurizer.sparse_featurizer import SparseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.nlu.utils.spacy_utils import SpacyModel, SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_CONFIDENCE,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

logger = logging.getLogger(__name__)

DEFAULT_ENTITIES = ["condition", "red_flag", "contraindication"]

_fallback_lock = threading.Lock()
_fallback_nlp = None


def _fallback_pipeline():
    global _fallback_nlp
    with _fallback_lock:
        if _fallback_nlp is None:
            _fallback_nlp = load_pipeline()
        return _fallback_nlp


def footnlp_doc(message: Message):
    """The footnlp doc of a message's text: SpacyNLP's, or footnlp's own run."""
    text = message.get(TEXT)
    doc = message.get(SPACY_DOCS[TEXT])
    if doc is None or SPAN_KEY not in doc.spans or len(doc.text) != len(text):
        # not our pipeline's doc (or offsets would not line up): run footnlp
        doc = _fallback_pipeline()(text)
    return doc


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
    model_from="SpacyNLP",
)
class FootcareEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds condition / red_flag / contraindication entities found by footnlp."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # entity types to add (lexicon categories); also possible:
            # symptom, body_part, tool
            "entities": list(DEFAULT_ENTITIES),
            # also add mentions that are negated ("no numbness"); off by default
            "include_negated": False,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    def __init__(self, config: Dict[Text, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}
        self._entities = set(self._config.get("entities") or DEFAULT_ENTITIES)
        self._include_negated = bool(self._config.get("include_negated"))

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "FootcareEntityExtractor":
        status = saved_pipeline_status()
        if status == "stale":
            logger.warning(
                "build/spacy_footcare is older than content/lexicon.yml: run "
                "`python -m footnlp.build --out build/spacy_footcare` (make train) and "
                "restart, or the assistant will use the old lexicon."
            )
        return cls(config)

    def process(self, messages: List[Message], model: Optional[SpacyModel] = None) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text:
                continue
            doc = footnlp_doc(message)
            # for the action server's safety check, which then need not run
            # the pipeline again (actions/safety.py checks it is well formed)
            message.set(FINDINGS_KEY, safety_findings(doc), add_to_output=True)
            found = self._extract(doc)
            if not found:
                continue
            existing = list(message.get(ENTITIES) or [])
            new = [e for e in found if not _duplicate(e, existing)]
            if new:
                message.set(
                    ENTITIES, existing + self.add_extractor_name(new), add_to_output=True
                )
        return messages

    def _extract(self, doc) -> List[Dict[Text, Any]]:
        entities: List[Dict[Text, Any]] = []
        seen = set()
        for span in doc.spans[SPAN_KEY]:
            entity_type = category_of(span)
            if entity_type not in self._entities:
                continue
            if span._.negated and not self._include_negated:
                continue
            key = (entity_type, span.id_)
            if key in seen:
                continue
            seen.add(key)
            entities.append(
                {
                    ENTITY_ATTRIBUTE_TYPE: entity_type,
                    ENTITY_ATTRIBUTE_VALUE: span.id_,
                    ENTITY_ATTRIBUTE_START: span.start_char,
                    ENTITY_ATTRIBUTE_END: span.end_char,
                    ENTITY_ATTRIBUTE_CONFIDENCE: 1.0,
                }
            )
        return entities


def _duplicate(entity: Dict[Text, Any], existing: List[Dict[Text, Any]]) -> bool:
    for other in existing:
        if other.get(ENTITY_ATTRIBUTE_TYPE) != entity[ENTITY_ATTRIBUTE_TYPE]:
            continue
        if other.get(ENTITY_ATTRIBUTE_VALUE) == entity[ENTITY_ATTRIBUTE_VALUE]:
            return True
        start, end = other.get(ENTITY_ATTRIBUTE_START), other.get(ENTITY_ATTRIBUTE_END)
        if start is not None and end is not None:
            if start < entity[ENTITY_ATTRIBUTE_END] and entity[ENTITY_ATTRIBUTE_START] < end:
                return True
    return False


def concept_features(span) -> List[Text]:
    """Feature names for one concept mention."""
    category = category_of(span)
    if span._.negated:
        return [f"negated:{category}"]
    return [category, f"{category}:{span.id_}"]


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER],
    is_trainable=True,
)
class FootcareConceptFeaturizer(SparseFeaturizer, GraphComponent):
    """Sparse features from the lexicon's concepts, for the intent classifier.

    The feature names seen in the training data are the vocabulary (stored with
    the model); concepts added to the lexicon later still count through their
    category until the next `rasa train`.
    """

    FILENAME = "footcare_concept_features.json"

    @classmethod
    def required_components(cls) -> List[Type]:
        return [SpacyNLP, Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return SparseFeaturizer.get_default_config()

    @staticmethod
    def required_packages() -> List[Text]:
        return ["spacy"]

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        """Nothing to check (Rasa's Featurizer requires the method): only SparseFeaturizer's own keys."""

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        vocabulary: Optional[List[Text]] = None,
    ) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._index = {name: i for i, name in enumerate(vocabulary or [])}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "FootcareConceptFeaturizer":
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "FootcareConceptFeaturizer":
        try:
            with model_storage.read_from(resource) as path:
                vocabulary = read_json_file(path / cls.FILENAME)
        except ValueError:
            # trained on data without any concept: nothing to add
            vocabulary = []
        return cls(config, model_storage, resource, execution_context, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        names: Set[Text] = set()
        for message in training_data.training_examples:
            if message.get(TEXT) and message.get(TOKENS_NAMES[TEXT]):
                for span in footnlp_doc(message).spans[SPAN_KEY]:
                    names.update(concept_features(span))
        vocabulary = sorted(names)
        self._index = {name: i for i, name in enumerate(vocabulary)}
        if vocabulary:
            with self._model_storage.write_to(self._resource) as path:
                dump_obj_as_json_to_file(path / self.FILENAME, vocabulary)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        if not self._index:
            return messages
        for message in messages:
            tokens = message.get(TOKENS_NAMES[TEXT])
            if message.get(TEXT) and tokens:
                sequence, sentence = self.features(footnlp_doc(message), tokens)
                self.add_features_to_message(sequence, sentence, TEXT, message)
        return messages

    def features(self, doc, tokens) -> "tuple[scipy.sparse.coo_matrix, scipy.sparse.coo_matrix]":
        """Multi-hot rows per token, and for the message (a token's row holds the
        features of every concept mention that covers it)."""
        rows: List[int] = []
        cols: List[int] = []
        for span in doc.spans[SPAN_KEY]:
            columns = [self._index[n] for n in concept_features(span) if n in self._index]
            for row, token in enumerate(tokens):
                if token.start < span.end_char and span.start_char < token.end:
                    rows.extend([row] * len(columns))
                    cols.extend(columns)
        width = len(self._index)
        sequence = scipy.sparse.coo_matrix(
            (np.ones(len(rows)), (np.array(rows, dtype=int), np.array(cols, dtype=int))),
            shape=(len(tokens), width),
        )
        sequence.sum_duplicates()
        sequence.data[:] = 1.0
        present = sorted(set(cols))
        sentence = scipy.sparse.coo_matrix(
            (np.ones(len(present)), (np.zeros(len(present), dtype=int), np.array(present, dtype=int))),
            shape=(1, width),
        )
        return sequence, sentence
