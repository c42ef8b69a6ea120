"""footnlp: the footcare assistant's language layer (spaCy rules from content/lexicon.yml).

Importing this package is cheap: it does not import spaCy or read any file.
It makes sure footnlp's spaCy components are registered as soon as spaCy is
(or already was) imported, so ``spacy.load("build/spacy_footcare")`` works in
any process that has imported ``footnlp`` - also when spaCy is imported later,
e.g. by Rasa's SpacyNLP.

Main entry points::

    from footnlp import load_pipeline, build_pipeline   # spaCy Language
    from footnlp import load_lexicon, LexiconError
"""

from __future__ import annotations

import importlib.abc
import sys
import threading
from typing import Any

from footnlp.lexicon import (  # noqa: F401  (cheap: yaml only)
    CATEGORIES,
    Lexicon,
    LexiconError,
    load_lexicon,
)

__version__ = "1.0.0"

_lock = threading.RLock()
_registered = False


def register_components() -> None:
    """Register footnlp's spaCy factories (imports spaCy)."""
    global _registered
    with _lock:
        if _registered:
            return
        import footnlp.pipeline  # noqa: F401  (the @Language.factory decorators run here)

        _registered = True


class _RegisterAfterSpacyImport(importlib.abc.MetaPathFinder):
    """Runs :func:`register_components` right after ``import spacy`` finishes."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D401
        if fullname != "spacy":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module, _original=original, _hook=self):
            _original(module)
            try:
                sys.meta_path.remove(_hook)
            except ValueError:
                pass
            register_components()

        try:
            loader.exec_module = exec_module
        except AttributeError:  # pragma: no cover - read-only loader: register lazily
            return spec
        return spec


if "spacy" in sys.modules and hasattr(sys.modules["spacy"], "load"):
    register_components()
elif not any(isinstance(f, _RegisterAfterSpacyImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterSpacyImport())


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
    "LexiconError",
    "build_pipeline",
    "load_lexicon",
    "load_pipeline",
    "register_components",
]
