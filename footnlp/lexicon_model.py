"""What a lexicon is: its categories and the data classes of its concepts. Plain Python.

content/lexicon.yml lists concepts (conditions, body parts, symptoms, tools,
medicines, treatments, red flags, contraindications, "a doctor has checked it"
and helper context words), each with the terms people use for it and,
optionally, combinations of other concepts that together mean the concept (for
example "calf" + "swollen" = possible clot).  footnlp.lexicon_schema checks the
file and builds these classes; footnlp.lexicon loads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

#: Categories in the order they are listed in the file, with the spaCy label used
#: for their entities.
CATEGORIES: Dict[str, str] = {
    "condition": "CONDITION",
    "body_part": "BODY_PART",
    "symptom": "SYMPTOM",
    "tool": "TOOL",
    "medicine": "MEDICINE",
    "treatment": "TREATMENT",
    "red_flag": "RED_FLAG",
    "contraindication": "CONTRAINDICATION",
    "clearance": "CLEARANCE",
    "context": "CONTEXT",
    "ignore": "IGNORE",
}
#: helper categories: only used to build other concepts, never reported themselves
HELPER_CATEGORIES = ("body_part", "symptom", "tool", "medicine", "treatment", "context")
#: a mention of one of these makes the message a health message (the reply then
#: ends with the doctor recommendation), negated or not: "no pain, can I book?"
HEALTH_CATEGORIES = ("condition", "body_part", "symptom", "medicine", "treatment", "red_flag", "contraindication")
LABEL_TO_CATEGORY = {label: cat for cat, label in CATEGORIES.items()}
REQUIRED_CATEGORIES = ("condition", "red_flag", "contraindication")

#: Where a combination has to be found.
SCOPES = ("sentence", "message")
SETTINGS_DEFAULTS = {"combination_window": 10, "spelling_correction": True, "spelling_min_length": 5}


@dataclass(frozen=True)
class Combination:
    """All parts (concept ids or category names) must be mentioned, not negated,
    and none of ``unless`` in the same clause (the whole message for scope message)."""

    all_of: Tuple[str, ...]
    scope: str = "sentence"
    window: Optional[int] = None  # None: use settings.combination_window
    unless: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"all_of": list(self.all_of), "scope": self.scope}
        if self.window is not None:
            data["window"] = self.window
        if self.unless:
            data["unless"] = list(self.unless)
        return data


@dataclass(frozen=True)
class Concept:
    id: str
    category: str
    terms: Tuple[str, ...] = ()
    combinations: Tuple[Combination, ...] = ()
    description: str = ""
    #: ids of concepts that replace this one where both cover the same words
    overridden_by: Tuple[str, ...] = ()
    #: ids of concepts that cancel a mention of this one in the same clause
    #: ("red and warm" + "after the massage" is a normal side effect)
    unless: Tuple[str, ...] = ()
    #: red flags only: the contraindication a past, resolved mention stands for
    #: ("a clot years ago" -> suspected_clot)
    history: str = ""
    #: contraindications only: does a past mention still count? (a clot years
    #: ago does; a pregnancy or a fracture that has healed does not)
    lasting: bool = True

    @property
    def label(self) -> str:
        return CATEGORIES[self.category]

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {}
        if self.description:
            data["description"] = self.description
        if self.terms:
            data["terms"] = list(self.terms)
        if self.combinations:
            data["combinations"] = [c.to_dict() for c in self.combinations]
        if self.overridden_by:
            data["overridden_by"] = list(self.overridden_by)
        if self.unless:
            data["unless"] = list(self.unless)
        if self.history:
            data["history"] = self.history
        if not self.lasting:
            data["lasting"] = False
        return data


@dataclass
class Lexicon:
    concepts: Dict[str, Concept]
    settings: Dict[str, Any] = field(default_factory=lambda: dict(SETTINGS_DEFAULTS))
    source: str = "<memory>"
    sha256: str = ""

    def ids(self, category: str) -> List[str]:
        return [c.id for c in self.concepts.values() if c.category == category]

    def by_category(self, category: str) -> List[Concept]:
        return [c for c in self.concepts.values() if c.category == category]

    def to_dict(self) -> Dict[str, Any]:
        """The lexicon in the same shape as lexicon.yml (used to save a pipeline)."""
        data: Dict[str, Any] = {"settings": dict(self.settings)}
        for category in CATEGORIES:
            members = self.by_category(category)
            if members:
                data[category] = {c.id: c.to_dict() for c in members}
        return data
