"""footnlp: the footcare assistant's language layer (spaCy rules from content/lexicon.yml).

Importing this package is cheap: it does not import spaCy or read any file.
spaCy finds footnlp's components through the ``spacy_factories`` entry points
of the installed project (pyproject.toml): any new spaCy ``Language`` (also
``spacy.load("build/spacy_footcare")`` and Rasa's SpacyNLP) imports their
modules, in any process, whether or not it has imported ``footnlp``.

Main entry points::

    from footnlp import load_pipeline, build_pipeline   # spaCy Language
    from footnlp import load_lexicon                    # errors: footcare_content.files.ContentError
"""

from __future__ import annotations

from typing import Any

from footnlp.lexicon import (  # noqa: F401  (cheap: yaml only)
    CATEGORIES,
    Lexicon,
    load_lexicon,
)

__version__ = "1.0.0"


def build_pipeline(*args: Any, **kwargs: Any):
    """See :func:`footnlp.pipeline.build_pipeline`."""
    from footnlp.pipeline import build_pipeline as _build

    return _build(*args, **kwargs)


def load_pipeline(*args: Any, **kwargs: Any):
    """See :func:`footnlp.pipeline.load_pipeline`."""
    from footnlp.pipeline import load_pipeline as _load

    return _load(*args, **kwargs)


__all__ = [
    "CATEGORIES",
    "Lexicon",
    "build_pipeline",
    "load_lexicon",
    "load_pipeline",
]
