"""Rasa 3.6 component for the footcare concepts: the lexicon's entities and safety findings.

config.yml::

    pipeline:
    - name: SpacyNLP
      model: build/spacy_footcare
    - name: SpacyTokenizer
    - name: footnlp.rasa_component.FootcareEntityExtractor
    ...

``FootcareEntityExtractor`` reads the spaCy doc that SpacyNLP put on the
message and adds the entities ``condition``, ``red_flag`` and
``contraindication`` (value = the concept id from content/lexicon.yml), for
mentions that are not negated.  Entities that another extractor already found
for the same type and value (or overlapping text) are not added twice.  It also
puts the message's red flags and contraindications into the parse data
(``footcare_safety``), which the action server's safety check reuses.

SpacyNLP's ``spacy.load`` finds footnlp's spaCy components through the
project's ``spacy_factories`` entry points (pyproject.toml).  SpacyNLP reads a
lowercased copy of the text; when lowercasing changed its length (a few
letters such as "İ" do), the doc's offsets would not line up, and the
extractor runs the same loaded pipeline (the model SpacyNLP provides) on the
text as typed, once, and keeps that doc on the message (``footnlp_doc``) for
the components after it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import SPACY_DOCS
from rasa.nlu.extractors.extractor import EntityExtractorMixin
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

from footnlp.concepts import SPAN_KEY, category_of
from footnlp.findings import FINDINGS_KEY, safety_findings
from footnlp.pipeline import saved_pipeline_status

logger = logging.getLogger(__name__)

DEFAULT_ENTITIES = ["condition", "red_flag", "contraindication"]

#: where a message keeps the footnlp doc the extractor made itself (not part of the parse output)
FOOTNLP_DOC = "footnlp_doc"


def footnlp_doc(message: Message, model: Optional[SpacyModel] = None):
    """The footnlp doc of a message's text: the extractor's own, or SpacyNLP's when it is footnlp's
    and lines up with the text; otherwise `model`'s pipeline is run on the text (and the doc kept)."""
    text = message.get(TEXT)
    doc = message.get(FOOTNLP_DOC) or message.get(SPACY_DOCS[TEXT])
    if doc is None or SPAN_KEY not in doc.spans or len(doc.text) != len(text):
        if model is None:
            raise ValueError(
                "FootcareEntityExtractor needs SpacyNLP with footnlp's pipeline (model: build/spacy_footcare) "
                "before it in config.yml"
            )
        doc = model.model(text)
        message.set(FOOTNLP_DOC, doc)
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
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "FootcareEntityExtractor":
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
            doc = footnlp_doc(message, model)
            # for the action server's safety decision, which trusts these findings (actions/safety/)
            message.set(FINDINGS_KEY, safety_findings(doc), add_to_output=True)
            found = self._extract(doc)
            if not found:
                continue
            existing = list(message.get(ENTITIES) or [])
            new = [e for e in found if not _duplicate(e, existing)]
            if new:
                message.set(ENTITIES, existing + self.add_extractor_name(new), add_to_output=True)
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
