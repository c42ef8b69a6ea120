"""Off-topic messages: long messages about nothing the assistant covers (content/scope.yml).

A message of at least ``min_words`` words is off topic when the lexicon finds no
concept of the subject in it (a body part, symptom, condition, medicine,
treatment, tool, warning sign or precaution) and none of its words begins with
one of the file's ``words`` (massage, session, price, ...).  The intent
classifier (footnlp.intent_classifier) then answers it as ``out_of_scope``,
whatever its model says: a long letter about a neighbour's parking has words
enough to look like any topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Tuple, Union

from spacy.tokens import Doc

from footcare_content.files import ContentError, display_path, load_yaml
from footnlp.concepts import category_of, concept_spans
from footnlp.lexicon_model import HEALTH_CATEGORIES

SCOPE_FILE = Path(__file__).resolve().parent.parent / "content" / "scope.yml"
#: lexicon categories that name the assistant's subject
SUBJECT_CATEGORIES = (*HEALTH_CATEGORIES, "tool")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def words_of(text: str) -> list:
    """The words of a message, lower case, as the rule counts them."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class Scope:
    min_words: int
    words: Tuple[str, ...]

    def off_topic(self, text: str, doc: Doc) -> bool:
        """Whether a message is long and names nothing of the subject."""
        words = words_of(text)
        if len(words) < self.min_words:
            return False
        if any(category_of(span) in SUBJECT_CATEGORIES for span in concept_spans(doc, include_negated=True)):
            return False
        return not any(word.startswith(self.words) for word in words)


def parse_scope(data: Any, shown: str = "content/scope.yml") -> Scope:
    """Check the parsed YAML of scope.yml; a mistake names the file and key."""
    if not isinstance(data, dict) or set(data) != {"version", "min_words", "words"}:
        raise ContentError(shown, "", "needs exactly the keys version, min_words and words")
    if data["version"] != 1:
        raise ContentError(shown, "version", f"must be 1, got {data['version']!r}")
    most = data["min_words"]
    if not isinstance(most, int) or isinstance(most, bool) or most < 5:
        raise ContentError(shown, "min_words", f"must be a whole number of at least 5, got {most!r}")
    words = data["words"]
    if not isinstance(words, list) or not words:
        raise ContentError(shown, "words", "must be a non-empty list")
    for n, word in enumerate(words):
        if not isinstance(word, str) or not re.fullmatch(r"[a-z0-9]+", word):
            raise ContentError(shown, f"words[{n}]", f"must be one lower-case word beginning, got {word!r}")
    if len(set(words)) != len(words):
        raise ContentError(shown, "words", "lists a beginning twice")
    return Scope(min_words=most, words=tuple(words))


def load_scope(path: Union[str, Path] = SCOPE_FILE) -> Scope:
    return parse_scope(load_yaml(path), display_path(path))
