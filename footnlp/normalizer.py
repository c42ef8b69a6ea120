"""The ``footnlp_normalizer`` spaCy component: ``token.norm_`` is the token's stem (footnlp.stemming)."""

# no "from __future__ import annotations" here: spaCy reads the factory
# signatures' type annotations at runtime

from spacy.language import Language
from spacy.tokens import Doc

from footnlp.stemming import token_stem


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
