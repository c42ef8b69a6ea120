"""The lexicon: content/lexicon.yml, read and checked. Plain Python (no spaCy), cheap to import.

What a lexicon holds is in footnlp.lexicon_model, how the file is checked in
footnlp.lexicon_schema; this module loads it and names the conditions.
The texts of the warning signs and precautions (content/safety.yml) are read
and checked by the actions/safety package (actions/safety/content.py), the one home of safety.
"""

from __future__ import annotations

from pathlib import Path
from typing import Tuple, Union

from footcare_content.files import PROJECT_ROOT, display_path, file_sha256, load_yaml
from footnlp.lexicon_model import (  # noqa: F401  (the public names of the lexicon)
    CATEGORIES,
    HEALTH_CATEGORIES,
    HELPER_CATEGORIES,
    LABEL_TO_CATEGORY,
    Combination,
    Concept,
    Lexicon,
)
from footnlp.lexicon_schema import parse_lexicon

DEFAULT_LEXICON_PATH = PROJECT_ROOT / "content" / "lexicon.yml"


def load_lexicon(path: Union[str, Path, None] = None) -> Lexicon:
    """Read and validate ``lexicon.yml`` (default: the project's content/lexicon.yml)."""
    path = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    data = load_yaml(path)
    return parse_lexicon(data, display_path(path), file_sha256(path))


def condition_ids(path: Union[str, Path, None] = None) -> Tuple[str, ...]:
    """The conditions the assistant knows: the ``condition`` concepts of the lexicon, in file order.

    They are the values of the Rasa entity and slot ``condition``; content/knowledge.yml
    names each of them (``make validate`` checks that every file agrees).
    """
    return tuple(load_lexicon(path).ids("condition"))
