"""The second warning-sign detector: closeness to plain descriptions, by the sentence encoder.

The lexicon (content/lexicon.yml) finds warning signs and contraindications by
their words.  People describe them in words no lexicon lists ("felt like
someone kicked my heel and nobody was there").  content/safety_descriptions.yml
holds plain descriptions of every warning sign and contraindication of
content/safety.yml, and harmless ``look_alikes``; this detector flags a message
whose sentence vector (or one of its sentences') is close enough to a
description (``threshold``) and closer to it than to any look-alike by
``margin``.  The safety decision (actions/safety.py) takes both detectors: an
id either one finds counts (recall first).

In the Rasa pipeline (config.yml), after the sentence featurizer and the
entity extractor::

    - name: footnlp.safety_similarity.SafetySimilarity
      threshold: 0.65
      margin: 0.15

It adds ``similar`` ({id: similarity}) to the message's ``footcare_safety``
findings, for ids the lexicon did not find.  Ids the lexicon saw negated, over
or as a general question in the same message are not added ("no swelling at
all" is close to "a swollen calf"), nor anything in a message where the writer
says a doctor has checked it.

    python -m footnlp.safety_similarity --report    # the threshold table for docs/evaluation.md
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Text, Tuple

import numpy as np
import yaml

from footnlp import negation
from footnlp.encoder import load_encoder
from footnlp.parts import split_parts
from footnlp.concepts import concept_spans
from footnlp.findings import FINDINGS_KEY, safety_findings
from footnlp.pipeline import load_pipeline
from footnlp.rasa_component import FootcareEntityExtractor, footnlp_doc
from footnlp.sentence_featurizer import SentenceEncoderFeaturizer, message_embedding, piece_vectors
from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

CONTENT = Path(__file__).resolve().parent.parent / "content"
DESCRIPTIONS_FILE = CONTENT / "safety_descriptions.yml"
SAFETY_FILE = CONTENT / "safety.yml"
KINDS = ("red_flags", "contraindications")
#: chosen on tests/red_flags.yml (table in docs/evaluation.md)
DEFAULT_THRESHOLD = 0.65
DEFAULT_MARGIN = 0.15


@dataclass(frozen=True)
class Descriptions:
    """Every description's id, kind and unit vector."""

    ids: Tuple[str, ...]
    kinds: Tuple[str, ...]
    texts: Tuple[str, ...]
    vectors: np.ndarray
    look_alikes: np.ndarray

    def closest(self, vectors: np.ndarray, kind: Optional[str] = None) -> Dict[str, float]:
        """{id: best similarity} over all the given vectors (message and its sentences)."""
        if not len(self.ids) or not len(vectors):
            return {}
        best = (vectors @ self.vectors.T).max(axis=0)
        out: Dict[str, float] = {}
        for sid, k, sim in zip(self.ids, self.kinds, best):
            if kind is None or k == kind:
                out[sid] = max(out.get(sid, -1.0), float(sim))
        return out

    def harmless(self, vectors: np.ndarray) -> float:
        """The best similarity to a look-alike."""
        if not len(self.look_alikes) or not len(vectors):
            return -1.0
        return float((vectors @ self.look_alikes.T).max())


def read_descriptions(path: Path = DESCRIPTIONS_FILE, safety_path: Path = SAFETY_FILE) -> Tuple[List[Tuple[str, str, str]], List[str]]:
    """(kind, id, description) rows and the look-alikes, checked against content/safety.yml."""
    from footnlp.lexicon import LexiconError

    def fail(key: str, problem: str):
        raise LexiconError(f"{path}: {key} {problem}")

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        safety = yaml.safe_load(Path(safety_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path}: cannot be read ({exc})") from exc

    def sentences(value, key: str) -> List[str]:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and len(v.split()) >= 2 for v in value):
            fail(key, "must be a non-empty list of plain sentences")
        return [v.strip() for v in value]

    rows = []
    for kind in KINDS:
        section = data.get(kind)
        if not isinstance(section, dict):
            fail(kind, "must be a mapping of ids to descriptions")
        known = set(safety.get(kind) or {})
        for sid in sorted(known - set(section)):
            fail(f"{kind}.{sid}", f"is missing: every id of {safety_path.name} needs descriptions")
        for sid, value in section.items():
            if sid not in known:
                fail(f"{kind}.{sid}", f"is not an id in {safety_path.name}")
            rows.extend((kind, sid, text) for text in sentences(value, f"{kind}.{sid}"))
    return rows, sentences(data.get("look_alikes"), "look_alikes")


def load_descriptions(encoder, path: Path = DESCRIPTIONS_FILE) -> Descriptions:
    rows, look_alikes = read_descriptions(path)
    return Descriptions(
        ids=tuple(i for _, i, _ in rows),
        kinds=tuple(k for k, _, _ in rows),
        texts=tuple(t for _, _, t in rows),
        vectors=encoder.embed([t for _, _, t in rows]),
        look_alikes=encoder.embed(look_alikes),
    )


def message_vectors(encoder, text: str, message: Optional[Message] = None) -> np.ndarray:
    """The message's vector and, when it has several sentences, each sentence's
    (those the featurizer already encoded with `message` are not encoded again)."""
    parts = split_parts(text)
    whole = message_embedding(message) if message is not None else None
    texts = ([] if whole is not None else [text]) + (parts if len(parts) > 1 else [])
    rows = piece_vectors(message, texts, encoder)
    return np.concatenate([whole[None, :], rows]) if whole is not None else rows


def silenced(doc) -> Tuple[set, bool]:
    """Ids the lexicon saw negated, over, or as a general question; and whether a doctor cleared it."""
    quiet, cleared = set(), False
    for span in concept_spans(doc, include_negated=True):
        if span.label_ == "CLEARANCE" and not span._.negated:
            cleared = True
        elif span._.negated or span._.status in (negation.HISTORY, negation.GENERAL):
            quiet.add(span.id_)
    return quiet, cleared


def similar(
    descriptions: Descriptions,
    vectors: np.ndarray,
    found: Iterable[str] = (),
    quiet: Iterable[str] = (),
    cleared: bool = False,
    threshold: float = DEFAULT_THRESHOLD,
    margin: float = DEFAULT_MARGIN,
    kind: Optional[str] = None,
) -> Dict[str, float]:
    """{id: similarity} the encoder adds to what the lexicon `found`."""
    if cleared:
        return {}
    bar = max(threshold, descriptions.harmless(vectors) + margin)
    skip = set(found) | set(quiet)
    return {
        sid: round(sim, 3)
        for sid, sim in sorted(descriptions.closest(vectors, kind).items(), key=lambda kv: -kv[1])
        if sid not in skip and sim >= bar
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class SafetySimilarity(GraphComponent):
    """Adds warning signs and contraindications close to their plain descriptions."""

    @classmethod
    def required_components(cls) -> List[type]:
        return [SentenceEncoderFeaturizer, FootcareEntityExtractor]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # a description must be at least this close ...
            "threshold": DEFAULT_THRESHOLD,
            # ... and this much closer than the closest harmless look-alike
            "margin": DEFAULT_MARGIN,
            "model": None,  # default: SentenceEncoderFeaturizer's
        }

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.config = {**self.get_default_config(), **config}
        self.encoder = load_encoder(self.config["model"] or SentenceEncoderFeaturizer.get_default_config()["model"])
        self.descriptions = load_descriptions(self.encoder)

    @classmethod
    def create(cls, config, model_storage, resource, execution_context) -> "SafetySimilarity":
        return cls(config)

    def process_training_data(self, training_data):
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text, findings = message.get(TEXT), message.get(FINDINGS_KEY)
            if not text or not isinstance(findings, dict):
                continue
            vectors = message_vectors(self.encoder, text, message)
            quiet, cleared = silenced(footnlp_doc(message))
            found = [*findings.get("red_flags", []), *findings.get("contraindications", [])]
            hits = similar(
                self.descriptions, vectors, found, quiet, cleared or bool(findings.get("cleared")),
                float(self.config["threshold"]), float(self.config["margin"]),
            )
            message.set(FINDINGS_KEY, {**findings, "similar": hits}, add_to_output=True)
        return messages


# --------------------------------------------------------------------------- report

def _level_of(ids: Sequence[str], levels: Dict[str, str]) -> str:
    order = {"emergency": 0, "same_day": 1, "soon": 2}
    found = sorted((levels[i] for i in ids if i in levels), key=order.get)
    return found[0] if found else ""


def report(grid: Sequence[Tuple[float, float]] = ((0.55, 0.1), (0.6, 0.1), (0.6, 0.15), (0.65, 0.1), (0.65, 0.15),
                                                   (0.65, 0.2), (0.7, 0.15), (0.7, 0.2))) -> str:
    """Recall and false alarms of the lexicon, the encoder and both, on the written and the real set."""
    root = Path(__file__).resolve().parent.parent
    safety = yaml.safe_load(SAFETY_FILE.read_text(encoding="utf-8"))
    levels = {i: b["level"] for i, b in safety["red_flags"].items()}
    encoder, nlp = load_encoder(), load_pipeline()
    descriptions = load_descriptions(encoder)

    def rows_for(path: Path):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cases = [(c["text"], c["expect"], c.get("level")) for c in data["positives"]]
        cases += [((n if isinstance(n, str) else n["text"]), [], None) for n in data["negatives"]]
        out = []
        for text, expect, level in cases:
            doc = nlp(text)
            quiet, cleared = silenced(doc)
            out.append((expect, level, safety_findings(doc)["red_flags"], message_vectors(encoder, text), quiet, cleared))
        return out

    def figures(rows, setting, lexicon: bool):
        caught = alarms = right_level = 0
        positives = [r for r in rows if r[0]]
        for expect, level, lex, vectors, quiet, cleared in rows:
            ids = set(lex) if lexicon else set()
            if setting:
                ids |= set(similar(descriptions, vectors, (), quiet, cleared, *setting, kind="red_flags"))
            if expect:
                caught += bool(ids)
                right_level += _level_of(sorted(ids), levels) == level
            else:
                alarms += bool(ids)
        return caught / len(positives), right_level / len(positives), alarms / (len(rows) - len(positives)), len(positives), len(rows) - len(positives)

    lines = ["## Warning signs: the two detectors", "",
             "A warning-sign message counts as caught when any warning sign is found, *level right* when the",
             "highest level found is the expected one; a false alarm is a warning sign on a look-alike.",
             "The encoder flags a sign when a description is at least *threshold* close and closer than any",
             "harmless look-alike by *margin* (content/safety_descriptions.yml).", ""]
    for name, path, note in (
        ("Written set", root / "tests" / "red_flags.yml", "written by the project; the lexicon and the encoder's setting were chosen on it"),
        ("Real set", root / "tests" / "red_flags_real.yml",
         "quoted from public pages; its misses were read once and lexicon terms added for them"),
        ("Real set, second collection", root / "tests" / "red_flags_real_blind.yml",
         "quoted from other public pages after the first; never used to tune"),
    ):
        rows = rows_for(path)
        lines += [f"### {name} (`{path.relative_to(root)}`: {note})", "",
                  "| detector | threshold / margin | caught | level right | false alarms |", "| --- | ---: | ---: | ---: | ---: |"]
        recall, lvl, fa, p, n = figures(rows, None, True)
        lines.append(f"| lexicon only | - | {recall:.1%} | {lvl:.1%} | {fa:.1%} |")
        for setting in grid:
            mark = " **(shipped)**" if setting == (DEFAULT_THRESHOLD, DEFAULT_MARGIN) else ""
            r1, l1, f1, _, _ = figures(rows, setting, False)
            r2, l2, f2, _, _ = figures(rows, setting, True)
            lines.append(f"| encoder only | {setting[0]:.2f} / {setting[1]:.2f}{mark} | {r1:.1%} | {l1:.1%} | {f1:.1%} |")
            lines.append(f"| both | {setting[0]:.2f} / {setting[1]:.2f}{mark} | {r2:.1%} | {l2:.1%} | {f2:.1%} |")
        lines += ["", f"{p} warning-sign messages, {n} look-alikes.", ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m footnlp.safety_similarity", description=__doc__.split("\n")[0])
    parser.add_argument("--report", action="store_true", help="print the threshold table (Markdown)")
    args = parser.parse_args(argv)
    if args.report:
        print(report())
        return 0
    parser.print_help()
    return 1


if __name__ == "__main__":
    sys.exit(main())
