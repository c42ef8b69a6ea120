"""What the safety layer acts on, found in a processed doc (the ``footcare_safety`` parse data).

This module only finds; what to say about a finding is decided in the actions/safety package.
"""

from __future__ import annotations

from typing import Any, Dict, List, Set, Tuple

from spacy.tokens import Doc

from footnlp import negation
from footnlp.concepts import HISTORY_KEY, LASTING_KEY, concept_spans
from footnlp.lexicon_model import CATEGORIES, HEALTH_CATEGORIES

#: key of the safety findings in Rasa's parse data (FootcareEntityExtractor sets it)
from footnlp.topics import FINDINGS_KEY  # noqa: E402,F401

#: the keys :func:`safety_findings` always gives (the learned detector adds ``learned`` and
#: ``suspected``: {id: score}, see footnlp/warning_sign_component.py)
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


def silenced(doc: Doc) -> Tuple[Set[str], bool]:
    """Ids the lexicon saw negated, over, or as a general question; and whether a doctor cleared it.
    Another detector adds none of these ("no swelling at all" reads much like "a swollen calf")."""
    quiet: Set[str] = set()
    cleared = False
    for span in concept_spans(doc, include_negated=True):
        if span.label_ == "CLEARANCE" and not span._.negated:
            cleared = True
        elif span._.negated or span._.status in (negation.HISTORY, negation.GENERAL):
            quiet.add(span.id_)
    return quiet, cleared
