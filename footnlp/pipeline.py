"""The footcare spaCy pipeline: blank English + rules built from content/lexicon.yml.

Components, in order (each registered by its module, all imported here):

``footnlp_normalizer`` (footnlp.normalizer)
    ``token.norm_`` = a light stem of the token.
``footnlp_concepts`` (footnlp.concepts)
    spelling fixes, then the lexicon's terms as spans in ``doc.spans["footnlp"]``.
``footnlp_negation`` (footnlp.negation_tagger)
    ``span._.negated`` and ``span._.status`` (footnlp.negation's rules).
``footnlp_combinations`` (footnlp.combinations)
    concepts made of other concepts, then ``doc.ents``.

footnlp.findings turns a processed doc into what the safety layer acts on.
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
from typing import Union

import spacy
from spacy.language import Language

from footcare_content.files import file_sha256

# the components register themselves (their factory names are what saved pipelines name)
from footnlp import combinations, concepts, negation_tagger, normalizer  # noqa: F401
from footnlp.lexicon import DEFAULT_LEXICON_PATH, load_lexicon
from footnlp.lexicon_model import CATEGORIES, Lexicon

logger = logging.getLogger(__name__)

PIPELINE_FORMAT = 1
DEFAULT_MODEL_PATH = DEFAULT_LEXICON_PATH.parent.parent / "build" / "spacy_footcare"


def build_pipeline(lexicon: Union[Lexicon, str, Path, None] = None) -> Language:
    """A new pipeline built in memory from a lexicon (default: content/lexicon.yml)."""
    if not isinstance(lexicon, Lexicon):
        lexicon = load_lexicon(lexicon)
    nlp = spacy.blank("en")
    nlp.add_pipe("footnlp_normalizer")
    concept_pipe = nlp.add_pipe("footnlp_concepts")
    nlp.add_pipe("footnlp_negation")
    nlp.add_pipe("footnlp_combinations")
    concept_pipe.set_lexicon(lexicon)
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
        "patterns": concept_pipe.term_count,
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


__all__ = ["build_pipeline", "load_pipeline", "save_pipeline", "saved_pipeline_status", "DEFAULT_MODEL_PATH"]
