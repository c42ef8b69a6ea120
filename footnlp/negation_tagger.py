"""The ``footnlp_negation`` spaCy component: footnlp.negation's rules on the concept spans.

Sets ``span._.negated`` and ``span._.status`` (``current``, ``history`` for what
is over or long ago, ``general`` for a question about signs in general or about
prevention).
"""

# no "from __future__ import annotations" here: spaCy reads the factory
# signatures' type annotations at runtime

from spacy.language import Language
from spacy.tokens import Doc

from footnlp import concepts, negation

#: doc.user_data key of the time rule's status of every token
STATUS_KEY = "footnlp_status"


class NegationTagger:
    def __init__(self, nlp: Language, name: str, window: int) -> None:
        self.name = name
        self.window = window

    def __call__(self, doc: Doc) -> Doc:
        spans = list(doc.spans[concepts.SPAN_KEY]) if concepts.SPAN_KEY in doc.spans else []
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
