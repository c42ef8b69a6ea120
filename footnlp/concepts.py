"""The ``footnlp_concepts`` spaCy component: the lexicon's terms found in a doc.

It corrects small misspellings of lexicon words (footnlp.spelling), matches
every term on ``NORM`` (stemmed with footnlp.stemming), keeps the longest match
where terms overlap and puts the spans in ``doc.spans["footnlp"]`` (label = the
category, e.g. ``RED_FLAG``; ``span.id_`` = the concept id).
"""

# no "from __future__ import annotations" here: spaCy reads the factory
# signatures' type annotations at runtime

import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple, Union

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from footnlp import negation
from footnlp.lexicon_model import CATEGORIES, HELPER_CATEGORIES, LABEL_TO_CATEGORY, Lexicon
from footnlp.lexicon_schema import parse_lexicon
from footnlp.spelling import SPELLING_CATEGORIES, Speller, common_words
from footnlp.stemming import APOSTROPHES, token_stem

SPAN_KEY = "footnlp"
#: a term's "not" may be followed by one of these words in a message ("can't really walk on it")
NEGATIONS = ("n't", "not", "cannot", "never")
FILLERS = ("really", "even", "quite", "properly", "fully", "actually", "hardly", "barely")
#: doc.user_data key of {red flag id: contraindication id} for mentions that are over
HISTORY_KEY = "footnlp_history_of"
#: doc.user_data key of {contraindication id: does a past mention still count}
LASTING_KEY = "footnlp_lasting"

# set on the concept spans by footnlp_negation (footnlp.negation_tagger)
if not Span.has_extension("negated"):
    Span.set_extension("negated", default=False)
if not Span.has_extension("status"):
    Span.set_extension("status", default=negation.CURRENT)


class ConceptMatcher:
    """Finds lexicon concepts in a doc (see module docstring)."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.nlp = nlp
        self.name = name
        self.lexicon: Optional[Lexicon] = None
        self.matcher = Matcher(nlp.vocab)
        self.keys: Dict[int, str] = {}
        self.speller: Optional[Speller] = None
        self.term_count = 0
        self.history_of: Dict[str, str] = {}
        self.lasting: Dict[str, bool] = {}

    # -- building
    def set_lexicon(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.matcher = Matcher(self.nlp.vocab)
        self.keys = {}
        words: Set[str] = set()
        targets: Dict[str, Set[str]] = {}
        count = 0
        for concept in lexicon.concepts.values():
            patterns = []
            for term in concept.terms:
                pattern, term_words = self._term_pattern(term)
                if pattern:
                    patterns.append(pattern)
                    words.update(term_words)
                    if concept.category in SPELLING_CATEGORIES:
                        for w in term_words:
                            targets.setdefault(w, set()).add(concept.id)
            if patterns:
                key = f"{concept.category}|{concept.id}"
                self.matcher.add(key, patterns)
                self.keys[self.nlp.vocab.strings[key]] = concept.id
                count += len(patterns)
        self.term_count = count
        self.history_of = {c.id: c.history for c in lexicon.concepts.values() if c.history}
        self.lasting = {c.id: c.lasting for c in lexicon.concepts.values() if c.category == "contraindication"}
        settings = lexicon.settings
        self.speller = (
            Speller(targets, words, int(settings.get("spelling_min_length", 5)), common_words())
            if settings.get("spelling_correction", True)
            else None
        )

    def _term_pattern(self, term: str) -> Tuple[List[Dict[str, Any]], List[str]]:
        doc = self.nlp.make_doc(term)
        pattern: List[Dict[str, Any]] = []
        words: List[str] = []
        tokens = [t for t in doc if not t.is_space]
        for token in tokens:
            text = token.text.translate(APOSTROPHES)
            if text in ("-", "\u2013"):
                continue  # hyphens are optional everywhere (below)
            if text == "'s":
                pattern.append({"NORM": "'s", "OP": "?"})  # athlete's foot / athletes foot
                continue
            if pattern and pattern[-1].get("OP") != "?":
                pattern.append({"ORTH": {"IN": ["-", "\u2013", "/"]}, "OP": "?"})
            pattern.append({"NORM": token_stem(token)})
            if text.lower() in NEGATIONS:  # "can't really push off", "cannot even stand on it"
                pattern.append({"LOWER": {"IN": list(FILLERS)}, "OP": "?"})
            if token.is_alpha:
                words.append(token.lower_)
        if not any("NORM" in p and p.get("OP") != "?" for p in pattern):
            return [], []
        return pattern, words

    # -- running
    def __call__(self, doc: Doc) -> Doc:
        if self.lexicon is None:
            raise ValueError(
                "footnlp_concepts has no lexicon; build the pipeline with "
                "footnlp.pipeline.build_pipeline() or load a saved one"
            )
        doc.user_data[HISTORY_KEY] = self.history_of
        doc.user_data[LASTING_KEY] = self.lasting
        if self.speller is not None:
            for token in doc:
                if token.is_alpha and len(token) >= self.speller.min_length:
                    fixed = self.speller.correct(token.lower_)
                    if fixed is not None:
                        token.norm_ = fixed
        found: Dict[Tuple[int, int, str], Span] = {}
        for match_id, start, end in self.matcher(doc):
            cid = self.keys.get(match_id)
            if cid is None:
                continue
            concept = self.lexicon.concepts[cid]
            # optional tokens can make a match start/end on a hyphen: trim it
            while end - start > 1 and doc[end - 1].text in ("-", "\u2013", "/"):
                end -= 1
            while end - start > 1 and doc[start].text in ("-", "\u2013", "/"):
                start += 1
            key = (start, end, cid)
            if key not in found:
                found[key] = Span(doc, start, end, label=concept.label, span_id=cid)
        spans = _keep_longest(list(found.values()))
        spans.sort(key=lambda s: (s.start, -len(s), s.label_, s.id_))
        doc.spans[SPAN_KEY] = spans
        return doc

    # -- saving
    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        data = self.lexicon.to_dict() if self.lexicon is not None else None
        meta = {
            "source": self.lexicon.source if self.lexicon else None,
            "sha256": self.lexicon.sha256 if self.lexicon else None,
        }
        with (path / "lexicon.json").open("w", encoding="utf8") as f:
            json.dump({"meta": meta, "lexicon": data}, f, ensure_ascii=False, indent=1)

    def from_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = ()) -> "ConceptMatcher":
        path = ensure_path(path)
        with (path / "lexicon.json").open(encoding="utf8") as f:
            saved = json.load(f)
        if saved.get("lexicon") is not None:
            meta = saved.get("meta") or {}
            lexicon = parse_lexicon(saved["lexicon"], meta.get("source") or str(path), meta.get("sha256") or "")
            self.set_lexicon(lexicon)
        return self


def _hides(outer: Span, inner: Span) -> bool:
    """Does the longer match ``outer`` hide ``inner`` ("the longest term wins")?

    * ``ignore`` phrases (look-alikes such as "hot weather") and ``clearance``
      phrases ("not a clot") hide anything;
    * a match hides shorter ones of its own category;
    * helper matches (body part, symptom, tool, context) also hide each other;
    * a condition, red flag or contraindication is never hidden by another
      category, and never hides a helper (so "metatarsal pain" still gives the
      "pain" that combinations need, "diabetic ulcer" still names diabetes).
    """
    if not (outer.start <= inner.start and inner.end <= outer.end and len(outer) > len(inner)):
        return False
    outer_cat, inner_cat = LABEL_TO_CATEGORY[outer.label_], LABEL_TO_CATEGORY[inner.label_]
    if outer_cat in ("ignore", "clearance") or outer_cat == inner_cat:
        return True  # "not a clot" (a doctor's all-clear) names no clot
    return outer_cat in HELPER_CATEGORIES and inner_cat in HELPER_CATEGORIES


def _keep_longest(spans: List[Span]) -> List[Span]:
    """Drop hidden matches (see :func:`_hides`) and the ``ignore`` matches themselves.

    Matches with exactly the same tokens (one term listed under two categories,
    e.g. an ulcer is a red flag and a contraindication) are all kept.
    """
    by_start: Dict[int, List[Span]] = {}
    for span in spans:
        by_start.setdefault(span.start, []).append(span)
    longest = max((len(s) for s in spans), default=0)
    kept = []
    for span in spans:
        hidden = False
        for start in range(max(0, span.end - longest), span.start + 1):
            if any(_hides(o, span) for o in by_start.get(start, ())):
                hidden = True
                break
        if not hidden:
            kept.append(span)
    return [s for s in kept if s.label_ != CATEGORIES["ignore"]]


@Language.factory("footnlp_concepts")
def make_concepts(nlp: Language, name: str) -> ConceptMatcher:
    return ConceptMatcher(nlp, name)


def concept_spans(doc: Doc, include_negated: bool = False) -> List[Span]:
    """All concept spans of a processed doc (overlaps included), in text order."""
    spans = list(doc.spans[SPAN_KEY]) if SPAN_KEY in doc.spans else []
    if not include_negated:
        spans = [s for s in spans if not s._.negated]
    return spans


def category_of(span: Span) -> str:
    return LABEL_TO_CATEGORY.get(span.label_, span.label_.lower())
