"""Spelling fixes: a word one typo away from a lexicon word is read as that word.

The candidates come from a delete index (SymSpell's idea: a word and a target one edit apart share
a deletion), the distance from rapidfuzz; what makes a fix safe here is the project's own rule
(`Speller`): never an English word or a known stem, the same first letter, one concept only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, Iterable, Optional, Set

from rapidfuzz.distance import OSA

from footnlp.stemming import stem

logger = logging.getLogger(__name__)

#: categories whose words are used as spelling-correction targets
SPELLING_CATEGORIES = (
    "condition",
    "red_flag",
    "contraindication",
    "symptom",
    "body_part",
    "medicine",
    "treatment",
    "tool",
    "context",
)
#: English words that are never taken for a typo (a word list that ships with
#: footnlp, see the header of the file): "fewer" is not a misspelt "fever"
COMMON_WORDS_PATH = Path(__file__).resolve().parent / "common_words.txt"
_common_words: Optional[Set[str]] = None


def common_words() -> Set[str]:
    """The shipped English word list, lower case (read once)."""
    global _common_words
    if _common_words is None:
        try:
            lines = COMMON_WORDS_PATH.read_text(encoding="utf8").splitlines()
        except OSError:
            logger.warning("%s is missing: short words are not spell-corrected", COMMON_WORDS_PATH)
            lines = []
        _common_words = {w.strip().lower() for w in lines if w.strip() and not w.startswith("#")}
    return _common_words


def _within_one_edit(a: str, b: str) -> bool:
    """True if a and b differ by one insertion, deletion, substitution or swap of neighbours
    (rapidfuzz's optimal string alignment distance is 1)."""
    return OSA.distance(a, b, score_cutoff=1) == 1


class Speller:
    """Maps a word one typo away from a lexicon word onto that word.

    "numbess" -> numbness, "metatersalgia" -> metatarsalgia, "feaver" -> fever,
    "calff" -> calf.  A word is only changed when it has ``min_length``
    letters or more, is not an English word (``common``: "fewer" stays
    "fewer", it is not a misspelt "fever") nor a lexicon word, starts with the
    same letter as its target, is one edit (insertion, deletion, substitution
    or swap of two letters) away from it, and exactly one target stem fits.
    """

    def __init__(
        self, targets: Dict[str, Set[str]], known: Iterable[str], min_length: int, common: Iterable[str] = ()
    ) -> None:
        self.min_length = min_length
        # target word -> ids of the concepts whose terms use it
        self.targets = {w: ids for w, ids in targets.items() if len(w) >= min_length - 1 and w.isalpha()}
        self.words = set(self.targets)
        self.known = set(known) | set(common)
        self.stems = {stem(w) for w in known}
        # "snores" is "snore" + s, not a misspelt "sore"
        self.common_stems = {stem(w) for w in common}
        self.deletes: Dict[str, Set[str]] = {}
        for w in self.words:
            for d in self._deletions(w):
                self.deletes.setdefault(d, set()).add(w)
        self._cache: Dict[str, Optional[str]] = {}

    @staticmethod
    def _deletions(w: str) -> Set[str]:
        return {w[:i] + w[i + 1 :] for i in range(len(w))}

    def correct(self, word: str) -> Optional[str]:
        if word in self._cache:
            return self._cache[word]
        result = None
        if (
            len(word) >= self.min_length
            and word.isalpha()
            and word not in self.known
            and stem(word) not in self.stems
            and stem(word) not in self.common_stems
        ):
            candidates: Set[str] = set(self.deletes.get(word, set()))
            for d in self._deletions(word):
                if d in self.words:
                    candidates.add(d)
                candidates |= self.deletes.get(d, set())
            fits = sorted(
                (c for c in candidates if c[0] == word[0] and _within_one_edit(word, c)),
                key=lambda c: (len(c) != len(word), c),
            )
            concepts = set().union(*(self.targets[c] for c in fits)) if fits else set()
            # several close words are fine when they all belong to one concept
            # ("fasciitus": fasciitis / fasciits); otherwise it is a guess
            if len({stem(c) for c in fits}) == 1 or len(concepts) == 1:
                result = stem(fits[0])
        if len(self._cache) < 50000:
            self._cache[word] = result
        return result
