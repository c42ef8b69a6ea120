"""The footcare spaCy pipeline: blank English + rules built from content/lexicon.yml.

Components, in order (all registered when this module is imported):

``footnlp_normalizer``
    sets ``token.norm_`` to a light stem of the token (case-folded, plurals and
    simple inflections removed, a few irregular forms mapped), see :func:`stem`.
``footnlp_concepts``
    corrects small misspellings of lexicon words, then matches every lexicon
    term on ``NORM`` (the terms are stemmed with the same :func:`stem`), keeps the
    longest match where terms overlap and puts the spans in
    ``doc.spans["footnlp"]`` (label = category, e.g. ``RED_FLAG``; ``span.id_`` =
    concept id).
``footnlp_negation``
    sets ``span._.negated`` and ``span._.status`` (``current``, ``history`` for
    what is over or long ago, ``general`` for a question about signs in
    general or about prevention; see :mod:`footnlp.negation`).
``footnlp_combinations``
    adds the concepts defined by ``combinations`` in the lexicon (e.g. calf +
    swollen -> ``calf_clot``) from non-negated, current parts, drops mentions
    cancelled by an ``unless`` concept in their clause ("red and warm" + "after
    the massage"), then sets ``doc.ents`` (non-overlapping, red flags first).
    Entities carry the concept id in ``ent.ent_id_`` and ``ent._.negated``.

:func:`safety_findings` turns a processed doc into what the safety layer acts
on (the ``footcare_safety`` entry of Rasa's parse data).  This module only
finds; what to say about a finding is decided in actions/safety.py.

Use :func:`build_pipeline` to build in memory and :func:`load_pipeline` to load
the saved copy when it is up to date with the lexicon (or build otherwise).
"""

# no "from __future__ import annotations" here: spaCy reads the factory
# signatures' type annotations at runtime

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import spacy
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import ensure_path

from footnlp import negation
from footnlp.lexicon import (
    CATEGORIES,
    DEFAULT_LEXICON_PATH,
    HEALTH_CATEGORIES,
    HELPER_CATEGORIES,
    LABEL_TO_CATEGORY,
    Lexicon,
    LexiconError,
    file_sha256,
    load_lexicon,
    parse_lexicon,
)

logger = logging.getLogger(__name__)

SPAN_KEY = "footnlp"
#: doc.user_data key of the time rule's status of every token
STATUS_KEY = "footnlp_status"
#: doc.user_data key of {red flag id: contraindication id} for mentions that are over
HISTORY_KEY = "footnlp_history_of"
#: doc.user_data key of {contraindication id: does a past mention still count}
LASTING_KEY = "footnlp_lasting"
PIPELINE_FORMAT = 1
PIPE_NAMES = ("footnlp_normalizer", "footnlp_concepts", "footnlp_negation", "footnlp_combinations")
DEFAULT_MODEL_PATH = DEFAULT_LEXICON_PATH.parent.parent / "build" / "spacy_footcare"

if not Span.has_extension("negated"):
    Span.set_extension("negated", default=False)
if not Span.has_extension("status"):
    Span.set_extension("status", default=negation.CURRENT)

# --------------------------------------------------------------------- stemming

#: Irregular forms (after lower-casing) mapped to the form their regular
#: relatives stem to.  Keep entries to words that matter for symptoms.
IRREGULAR: Dict[str, str] = {
    "feet": "foot", "calves": "calf", "swollen": "swell", "swolen": "swell",
    "broke": "break", "broken": "break", "tore": "tear", "torn": "tear",
    "fell": "fall", "fallen": "fall", "felt": "feel", "heard": "hear",
    "lost": "lose", "woke": "wake", "woken": "wake", "bled": "bleed",
    "stood": "stand", "sat": "sit", "lying": "lie", "lain": "lie",
    "thought": "think", "kept": "keep", "slept": "sleep", "caught": "catch",
    "came": "come", "ran": "run", "began": "begin", "begun": "begin",
    "gone": "go", "went": "go", "goes": "go", "going": "go",
    "got": "get", "gotten": "get", "gets": "get", "getting": "get",
    "is": "be", "are": "be", "was": "be", "were": "be", "been": "be", "being": "be",
    "am": "be", "m": "be", "'m": "be", "re": "be", "'re": "be",
    "has": "have", "had": "have", "having": "have", "ve": "have", "'ve": "have",
    "does": "do", "did": "do", "done": "do", "doing": "do",
    "spread": "spread", "spreading": "spread",
}

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _cons(w: str, i: int) -> bool:
    c = w[i]
    if c in "aeiou":
        return False
    if c == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _measure(w: str) -> int:
    """Porter's m: the number of vowel-consonant sequences."""
    m, i, n = 0, 0, len(w)
    while i < n and _cons(w, i):
        i += 1
    while i < n:
        while i < n and not _cons(w, i):
            i += 1
        if i >= n:
            break
        while i < n and _cons(w, i):
            i += 1
        m += 1
    return m


def _has_vowel(w: str) -> bool:
    return any(not _cons(w, i) for i in range(len(w)))


def _double_cons(w: str) -> bool:
    return len(w) >= 2 and w[-1] == w[-2] and _cons(w, len(w) - 1)


def _cvc(w: str) -> bool:
    return (
        len(w) >= 3
        and _cons(w, len(w) - 3)
        and not _cons(w, len(w) - 2)
        and _cons(w, len(w) - 1)
        and w[-1] not in "wxy"
    )


def stem(word: str) -> str:
    """The one normalisation used for lexicon terms and message tokens alike.

    Lower-cases, unifies apostrophes, maps a few irregular forms and applies a
    light Porter-style stemmer (plural -s/-es/-ies, -ed, -ing, -ness, -ful, a
    final -e), so "Toes/toe", "tingling/tingles/tingled", "swollen/swelling",
    "numbness/numb" and "hurts/hurting" meet.  Short words (3 letters or fewer)
    and words with digits or symbols are only lower-cased.
    """
    w = word.lower().translate(_APOSTROPHES)
    if w in IRREGULAR:
        return IRREGULAR[w]
    if len(w) <= 3 or not w.isalpha() or not w.isascii():
        return w
    # step 1a: plurals
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss") and not w.endswith("us") and not w.endswith("is"):
        w = w[:-1]
    # step 1b: -eed, -ed, -ing
    if w.endswith("eed"):
        if _measure(w[:-3]) > 0:
            w = w[:-1]
    else:
        for suffix in ("ed", "ing"):
            if w.endswith(suffix) and _has_vowel(w[: -len(suffix)]) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                if w.endswith(("at", "bl", "iz")):
                    w += "e"
                elif _double_cons(w) and w[-1] not in "lsz":
                    w = w[:-1]
                elif _measure(w) == 1 and _cvc(w):
                    w += "e"
                break
    # step 1c: y -> i
    if w.endswith("y") and len(w) > 3 and _has_vowel(w[:-1]):
        w = w[:-1] + "i"
    # a small part of step 3
    for suffix in ("ness", "ful"):
        if w.endswith(suffix) and _measure(w[: -len(suffix)]) > 0:
            w = w[: -len(suffix)]
            break
    # step 5
    if w.endswith("e"):
        m = _measure(w[:-1])
        if m > 1 or (m == 1 and not _cvc(w[:-1])):
            w = w[:-1]
    if _measure(w) > 1 and w.endswith("ll"):
        w = w[:-1]
    return w


def token_stem(token) -> str:
    """The stem of a token's default norm (which already turns n't / nt into
    "not", 'm into "am" ...), except that the past "did" stays "did": "a blister
    I didn't feel" (not felt: a warning sign with diabetes) is not "I don't feel
    ill" (a negation)."""
    if token.lower_.translate(_APOSTROPHES) in ("did", "didn"):
        return "did"
    return stem(token.norm_)


def normalize_doc(doc: Doc) -> Doc:
    """Set ``token.norm_`` (and ``lemma_``, which Rasa's featurizers read) to the
    stem of the token's default norm, so that "toes", "Toe" and "toe" look alike."""
    for token in doc:
        token.norm_ = token_stem(token)
        token.lemma_ = token.norm_
    return doc


@Language.component("footnlp_normalizer")
def footnlp_normalizer(doc: Doc) -> Doc:
    return normalize_doc(doc)


# ------------------------------------------------------------- spelling fixes


#: categories whose words are used as spelling-correction targets
SPELLING_CATEGORIES = ("condition", "red_flag", "contraindication", "symptom", "body_part", "medicine", "treatment", "tool", "context")
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
    """True if a and b differ by one insertion, deletion, substitution or swap."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


class _Speller:
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


# ------------------------------------------------------------------- concepts


class ConceptMatcher:
    """Finds lexicon concepts in a doc (see module docstring)."""

    def __init__(self, nlp: Language, name: str) -> None:
        self.nlp = nlp
        self.name = name
        self.lexicon: Optional[Lexicon] = None
        self.matcher = Matcher(nlp.vocab)
        self.keys: Dict[int, str] = {}
        self.speller: Optional[_Speller] = None
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
            _Speller(targets, words, int(settings.get("spelling_min_length", 5)), common_words())
            if settings.get("spelling_correction", True)
            else None
        )

    def _term_pattern(self, term: str) -> Tuple[List[Dict[str, Any]], List[str]]:
        doc = self.nlp.make_doc(term)
        pattern: List[Dict[str, Any]] = []
        words: List[str] = []
        tokens = [t for t in doc if not t.is_space]
        for i, token in enumerate(tokens):
            text = token.text.translate(_APOSTROPHES)
            if text in ("-", "\u2013"):
                continue  # hyphens are optional everywhere (below)
            if text == "'s":
                pattern.append({"NORM": "'s", "OP": "?"})  # athlete's foot / athletes foot
                continue
            if pattern and pattern[-1].get("OP") != "?":
                pattern.append({"ORTH": {"IN": ["-", "\u2013", "/"]}, "OP": "?"})
            pattern.append({"NORM": token_stem(token)})
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
            lexicon = parse_lexicon(
                saved["lexicon"], meta.get("source") or str(path), meta.get("sha256") or ""
            )
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


# ---------------------------------------------------------------- negation


class NegationTagger:
    def __init__(self, nlp: Language, name: str, window: int) -> None:
        self.name = name
        self.window = window

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans[SPAN_KEY]) if SPAN_KEY in doc.spans else []
        negated = negation.negated_spans(doc, spans, window=self.window)
        statuses = negation.token_status(doc, spans)
        doc.user_data[STATUS_KEY] = statuses
        for i, span in enumerate(spans):
            span._.negated = i in negated
            span._.status = negation.span_status(statuses, span)
        return doc


@Language.factory("footnlp_negation", default_config={"window": negation.DEFAULT_WINDOW})
def make_negation(nlp: Language, name: str, window: int) -> NegationTagger:
    return NegationTagger(nlp, name, window)


# ------------------------------------------------------------ combinations

_PRIORITY = {
    "RED_FLAG": 0,
    "CONTRAINDICATION": 1,
    "CLEARANCE": 2,
    "CONDITION": 3,
    "SYMPTOM": 4,
    "MEDICINE": 5,
    "TREATMENT": 6,
    "TOOL": 7,
    "BODY_PART": 8,
    "CONTEXT": 9,
    "IGNORE": 10,
}
#: parts of a combination that still count when mentioned as history: a place,
#: a condition or a precaution ("type 1 since I was a kid" is still diabetes)
_STATUS_FREE_LABELS = {"BODY_PART", "CONDITION", "CONTRAINDICATION"}


class CombinationResolver:
    """Adds combination concepts, then sets ``doc.ents``."""

    def __init__(self, nlp: Language, name: str, concepts_pipe: str) -> None:
        self.nlp = nlp
        self.name = name
        self.concepts_pipe = concepts_pipe

    def _lexicon(self) -> Lexicon:
        pipe = self.nlp.get_pipe(self.concepts_pipe)
        if pipe.lexicon is None:
            raise ValueError(f"{self.concepts_pipe} has no lexicon")
        return pipe.lexicon

    def __call__(self, doc: Doc) -> Doc:
        lexicon = self._lexicon()
        spans: List[Span] = list(doc.spans[SPAN_KEY]) if SPAN_KEY in doc.spans else []
        combos = [c for c in lexicon.concepts.values() if c.combinations]
        if combos:
            clause = negation.combination_clauses(doc)
            default_window = int(lexicon.settings.get("combination_window", 10))
            # combinations may build on other combinations: repeat until stable
            for _ in range(len(combos) + 1):
                added = False
                present = {(s.id_, s.start, s.end) for s in spans}
                mentioned = {s.id_ for s in spans} | {s.label_ for s in spans}
                for concept in combos:
                    for combo in concept.combinations:
                        if not all((CATEGORIES[p] if p in CATEGORIES else p) in mentioned for p in combo.all_of):
                            continue  # a part is not mentioned at all
                        span = self._find(doc, spans, lexicon, concept, combo, clause, default_window)
                        if span is not None and (span.id_, span.start, span.end) not in present:
                            spans.append(span)
                            present.add((span.id_, span.start, span.end))
                            added = True
                if not added:
                    break
        statuses = doc.user_data.get(STATUS_KEY) or []
        for span in spans:
            span._.status = negation.span_status(statuses, span)
        spans = _apply_unless(spans, lexicon, doc)
        spans = _merge_same_concept(_apply_overrides(spans, lexicon))
        spans.sort(key=lambda s: (s.start, -len(s), s.label_, s.id_))
        doc.spans[SPAN_KEY] = spans
        doc.ents = _choose_ents(spans)
        return doc

    @staticmethod
    def _find(doc, spans, lexicon, concept, combo, clause, default_window) -> Optional[Span]:
        """The closest group of non-negated parts, as one span (or None)."""
        candidates: List[List[Span]] = []
        for part in combo.all_of:
            if part in CATEGORIES:
                label = CATEGORIES[part]
                options = [s for s in spans if s.label_ == label]
            else:
                options = [s for s in spans if s.id_ == part]
            # a body part is a place, not a finding: "no pain in my calf" still names the calf
            options = [s for s in options if s.label_ == "BODY_PART" or not s._.negated]
            # a finding that is over, or asked about in general, builds nothing
            # (a doctor's all-clear is news about the past by nature: "checked it, all fine")
            if concept.category != "clearance":
                options = [s for s in options if s.label_ in _STATUS_FREE_LABELS or s._.status == negation.CURRENT]
            if not options:
                return None
            candidates.append(options)
        if combo.unless and _cancelled(doc, spans, combo.unless, candidates, combo.scope, clause):
            return None

        if combo.scope == "message":
            # whole message: report it where the last-listed part is first mentioned
            anchor = min(candidates[-1], key=lambda s: s.start)
            start, end = anchor.start, anchor.end
        else:
            window = combo.window if combo.window is not None else default_window
            by_clause: List[Dict[int, List[Span]]] = []
            for options in candidates:
                grouped: Dict[int, List[Span]] = {}
                for s in options:
                    grouped.setdefault(clause[s.start], []).append(s)
                by_clause.append(grouped)
            best: Optional[Tuple[int, int]] = None
            for anchor in candidates[0]:
                c = clause[anchor.start]
                group = [anchor]
                for grouped in by_clause[1:]:
                    options = grouped.get(c)
                    if not options:
                        break
                    mid = (anchor.start + anchor.end) / 2
                    group.append(min(options, key=lambda s: abs((s.start + s.end) / 2 - mid)))
                else:
                    lo = min(s.start for s in group)
                    hi = max(s.end for s in group)
                    covered: Set[int] = set()
                    for s in group:
                        covered.update(range(s.start, s.end))
                    if (hi - lo) - len(covered) > window:
                        continue
                    if best is None or (hi - lo, lo) < (best[1] - best[0], best[0]):
                        best = (lo, hi)
            if best is None:
                return None
            start, end = best
        for s in spans:
            if s.id_ == concept.id and not s._.negated and s.start <= start and end <= s.end:
                return None  # already there
        span = Span(doc, start, end, label=concept.label, span_id=concept.id)
        span._.status = negation.span_status(doc.user_data.get(STATUS_KEY) or [], span)
        return span


def _unless_present(spans: Sequence[Span], ids: Sequence[str]) -> List[Span]:
    return [s for s in spans if s.id_ in ids and not s._.negated]


def _cancelled(doc, spans, unless, candidates, scope, clause) -> bool:
    """Is a combination cancelled by an ``unless`` concept (same clause, or anywhere for scope message)?"""
    present = _unless_present(spans, unless)
    if not present:
        return False
    if scope == "message":
        return True
    clauses = {clause[s.start] for options in candidates for s in options}
    return any(clause[s.start] in clauses for s in present)


def _apply_unless(spans: List[Span], lexicon: Lexicon, doc: Doc) -> List[Span]:
    """Drop a mention of a concept whose ``unless`` concepts are mentioned in its clause."""
    clause = None
    out = []
    for span in spans:
        concept = lexicon.concepts.get(span.id_)
        if concept is not None and concept.unless and not span._.negated:
            present = _unless_present(spans, concept.unless)
            if present:
                if clause is None:
                    clause = negation.combination_clauses(doc)
                if any(clause[p.start] == clause[span.start] or clause[p.start] == clause[span.end - 1] for p in present):
                    continue
        out.append(span)
    return out


def _apply_overrides(spans: List[Span], lexicon: Lexicon) -> List[Span]:
    """Drop a mention where a concept listed in its ``overridden_by`` covers the same words."""
    out = []
    for span in spans:
        concept = lexicon.concepts.get(span.id_)
        if concept is not None and concept.overridden_by and not span._.negated:
            if any(
                o.id_ in concept.overridden_by
                and not o._.negated
                and o.start < span.end
                and span.start < o.end
                for o in spans
            ):
                continue
        out.append(span)
    return out


def _merge_same_concept(spans: List[Span]) -> List[Span]:
    """Of overlapping mentions of one concept with the same negation, keep the widest."""
    groups: Dict[Tuple[str, str, bool], List[Span]] = {}
    for span in spans:
        groups.setdefault((span.label_, span.id_, bool(span._.negated)), []).append(span)
    drop: Set[int] = set()
    for members in groups.values():
        if len(members) < 2:
            continue
        # sorted by start, widest first: a span is inside an earlier one exactly
        # when an earlier one reaches at least as far
        max_end = -1
        for span in sorted(members, key=lambda s: (s.start, -len(s))):
            if span.end <= max_end:
                drop.add(id(span))
            else:
                max_end = span.end
    return [s for s in spans if id(s) not in drop]


def _choose_ents(spans: Sequence[Span]) -> List[Span]:
    ordered = sorted(
        spans, key=lambda s: (_PRIORITY.get(s.label_, 9), s._.negated, -len(s), s.start)
    )
    taken: Set[int] = set()
    ents: List[Span] = []
    for span in ordered:
        tokens = set(range(span.start, span.end))
        if tokens & taken:
            continue
        taken |= tokens
        ents.append(span)
    ents.sort(key=lambda s: s.start)
    return ents


@Language.factory("footnlp_combinations", default_config={"concepts_pipe": "footnlp_concepts"})
def make_combinations(nlp: Language, name: str, concepts_pipe: str) -> CombinationResolver:
    return CombinationResolver(nlp, name, concepts_pipe)


# -------------------------------------------------------------- build / load


def build_pipeline(lexicon: Union[Lexicon, str, Path, None] = None) -> Language:
    """A new pipeline built in memory from a lexicon (default: content/lexicon.yml)."""
    if not isinstance(lexicon, Lexicon):
        lexicon = load_lexicon(lexicon)
    nlp = spacy.blank("en")
    nlp.add_pipe("footnlp_normalizer")
    concepts = nlp.add_pipe("footnlp_concepts")
    nlp.add_pipe("footnlp_negation")
    nlp.add_pipe("footnlp_combinations")
    concepts.set_lexicon(lexicon)
    nlp.meta["name"] = "spacy_footcare"
    nlp.meta["version"] = "1.0.0"
    nlp.meta["description"] = (
        "Footcare assistant language layer: blank English with rule-based concept "
        "matching, negation and red-flag combinations built from content/lexicon.yml"
    )
    nlp.meta["labels"] = {"footnlp_concepts": sorted(CATEGORIES.values())}
    nlp.meta["footnlp"] = {
        "format": PIPELINE_FORMAT,
        "lexicon_source": lexicon.source,
        "lexicon_sha256": lexicon.sha256,
        "concepts": len(lexicon.concepts),
        "patterns": concepts.term_count,
    }
    return nlp


def save_pipeline(nlp: Language, out: Union[str, Path]) -> Path:
    """Save with ``nlp.to_disk``, replacing ``out`` only once the new copy is complete."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        nlp.to_disk(tmp)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            if old.exists():
                shutil.rmtree(old)
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def saved_pipeline_status(
    model_path: Union[str, Path, None] = None, lexicon_path: Union[str, Path, None] = None
) -> str:
    """'fresh', 'missing', 'stale' or 'unreadable' for a saved pipeline directory."""
    model_path = Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH
    lexicon_path = Path(lexicon_path) if lexicon_path is not None else DEFAULT_LEXICON_PATH
    meta_file = model_path / "meta.json"
    if not meta_file.is_file():
        return "missing"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf8"))
        info = meta.get("footnlp") or {}
    except (OSError, ValueError):
        return "unreadable"
    if info.get("format") != PIPELINE_FORMAT:
        return "stale"
    try:
        current = file_sha256(lexicon_path)
    except OSError:
        return "fresh"  # no lexicon to compare with: the saved copy is all there is
    return "fresh" if info.get("lexicon_sha256") == current else "stale"


def load_pipeline(
    model_path: Union[str, Path, None] = None,
    lexicon_path: Union[str, Path, None] = None,
    prefer_saved: bool = True,
) -> Language:
    """The saved pipeline when it matches the lexicon, else one built in memory.

    Lexicon errors are raised (a broken lexicon must not go unnoticed); a
    missing, stale or unreadable saved copy only means building in memory.
    """
    model_path = Path(model_path) if model_path is not None else DEFAULT_MODEL_PATH
    if prefer_saved:
        status = saved_pipeline_status(model_path, lexicon_path)
        if status == "fresh":
            try:
                return spacy.load(model_path)
            except Exception as exc:  # noqa: BLE001 - fall back to building
                logger.warning("Could not load %s (%s); building from the lexicon", model_path, exc)
        elif status != "missing":
            logger.info("%s is %s; building the pipeline from the lexicon", model_path, status)
    return build_pipeline(load_lexicon(lexicon_path))


def concept_spans(doc: Doc, include_negated: bool = False) -> List[Span]:
    """All concept spans of a processed doc (overlaps included), in text order."""
    spans = list(doc.spans[SPAN_KEY]) if SPAN_KEY in doc.spans else []
    if not include_negated:
        spans = [s for s in spans if not s._.negated]
    return spans


def category_of(span: Span) -> str:
    return LABEL_TO_CATEGORY.get(span.label_, span.label_.lower())


#: key of the safety findings in Rasa's parse data (FootcareEntityExtractor sets it)
FINDINGS_KEY = "footcare_safety"
#: the keys :func:`safety_findings` always gives (another detector may add
#: ``similar``: {id: similarity}, see actions/safety.py)
FINDINGS_KEYS = ("red_flags", "contraindications", "history", "cleared", "health")
_HEALTH_LABELS = {CATEGORIES[c] for c in HEALTH_CATEGORIES}


def safety_findings(doc: Doc) -> Dict[str, Any]:
    """What the safety layer acts on, from a processed doc:

    * ``red_flags``: warning signs mentioned as going on now (not negated, not
      over, not a general question), in text order, each once;
    * ``contraindications``: precautions mentioned (not negated; history
      counts: "a clot years ago"), plus the ``history`` contraindication of a
      red flag that is over;
    * ``history``: warning signs mentioned as over or long ago (or that a
      doctor has checked in this message), which get no urgent advice;
    * ``cleared``: the writer says a doctor has checked it ("my GP says it's
      not a clot");
    * ``health``: the message names a body part, symptom, condition, medicine
      or treatment (negated or not), so its reply points to a doctor.
    """
    history_of = doc.user_data.get(HISTORY_KEY) or {}
    lasting = doc.user_data.get(LASTING_KEY) or {}
    spans = sorted(concept_spans(doc, include_negated=True), key=lambda s: (s.start, s.end))
    present = [s for s in spans if not s._.negated]
    clearances = [s for s in present if s.label_ == "CLEARANCE"]
    # what is said before a doctor's all-clear, in its clause or earlier, is checked
    checked_until = -1
    if clearances:
        clause = negation.combination_clauses(doc)
        checked_until = max(clause[s.end - 1] for s in clearances)
    red_flags: List[str] = []
    history: List[str] = []
    contraindications: List[str] = []
    for span in present:
        if span.label_ == "RED_FLAG":
            if span._.status == negation.GENERAL:
                continue
            if span._.status == negation.HISTORY or (clearances and clause[span.start] <= checked_until):
                if span.id_ not in history:
                    history.append(span.id_)
                later = history_of.get(span.id_)
                if later and later not in contraindications:
                    contraindications.append(later)
            elif span.id_ not in red_flags:
                red_flags.append(span.id_)
        elif span.label_ == "CONTRAINDICATION" and span.id_ not in contraindications:
            if span._.status == negation.HISTORY and not lasting.get(span.id_, True):
                continue  # "when I was pregnant", "broke my foot years ago and it healed"
            contraindications.append(span.id_)
    history = [h for h in history if h not in red_flags]
    return {
        "red_flags": red_flags,
        "contraindications": contraindications,
        "history": history,
        "cleared": bool(clearances),
        "health": any(s.label_ in _HEALTH_LABELS for s in spans),
    }




__all__ = [
    "SPAN_KEY",
    "build_pipeline",
    "load_pipeline",
    "save_pipeline",
    "saved_pipeline_status",
    "concept_spans",
    "category_of",
    "safety_findings",
    "FINDINGS_KEY",
    "FINDINGS_KEYS",
    "stem",
    "normalize_doc",
    "LexiconError",
]
