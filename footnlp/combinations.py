"""The ``footnlp_combinations`` spaCy component: concepts made of other concepts, then ``doc.ents``.

Adds the concepts defined by ``combinations`` in the lexicon (e.g. calf +
swollen -> ``calf_clot``) from non-negated, current parts, drops mentions
cancelled by an ``unless`` concept in their clause ("red and warm" + "after the
massage"), then sets ``doc.ents`` (non-overlapping, red flags first). Entities
carry the concept id in ``ent.ent_id_`` and ``ent._.negated``.
"""

# no "from __future__ import annotations" here: spaCy reads the factory
# signatures' type annotations at runtime

from typing import Dict, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from footnlp import concepts, negation, negation_tagger
from footnlp.lexicon_model import CATEGORIES, Lexicon

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
        spans: List[Span] = list(doc.spans[concepts.SPAN_KEY]) if concepts.SPAN_KEY in doc.spans else []
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
        statuses = doc.user_data.get(negation_tagger.STATUS_KEY) or []
        for span in spans:
            span._.status = negation.span_status(statuses, span)
        spans = _apply_unless(spans, lexicon, doc)
        spans = _merge_same_concept(_apply_overrides(spans, lexicon))
        spans.sort(key=lambda s: (s.start, -len(s), s.label_, s.id_))
        doc.spans[concepts.SPAN_KEY] = spans
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
        span._.status = negation.span_status(doc.user_data.get(negation_tagger.STATUS_KEY) or [], span)
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
                if any(
                    clause[p.start] == clause[span.start] or clause[p.start] == clause[span.end - 1] for p in present
                ):
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
                o.id_ in concept.overridden_by and not o._.negated and o.start < span.end and span.start < o.end
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
    ordered = sorted(spans, key=lambda s: (_PRIORITY.get(s.label_, 9), s._.negated, -len(s), s.start))
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
