"""Safety checks on what the user wrote: red flags and contraindications.

Plain module (no Rasa types) used by the action server::

    from actions import safety

    result = safety.check("my calf is swollen and warm since my flight")
    result.red_flags            # ["calf_clot", ...]  ids, not negated, in order
    result.emergency            # True if any red flag has level "emergency"
    result.contraindications    # ["anticoagulants", ...]
    safety.urgent_reply(result, emergency_number="999")   # text to START the reply, or None
    safety.precaution_reply(result)                      # precautions text, or None

The language pipeline and the texts (content/lexicon.yml, content/safety.yml)
are loaded once per process, on first use.  The saved pipeline
(build/spacy_footcare) is used when it matches the lexicon; otherwise the
pipeline is built in memory from the lexicon, so no build step is needed.
A broken content file raises ``footnlp.LexiconError`` naming the file and key.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

try:
    import footnlp  # noqa: F401
except ImportError:  # started from another directory: the project root holds footnlp
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import footnlp  # noqa: F401

from footnlp.lexicon import SafetyTexts, load_content

#: longer messages are checked in full up to this many characters
MAX_CHARS = 20000
FALLBACK_EMERGENCY_NUMBER = "your local emergency number"


@dataclass(frozen=True)
class SafetyCheck:
    """What the safety layer found in one message."""

    red_flags: List[str] = field(default_factory=list)
    emergency: bool = False
    contraindications: List[str] = field(default_factory=list)

    @property
    def urgent(self) -> bool:
        """Any red flag at all (emergency or urgent)."""
        return bool(self.red_flags)


_lock = threading.Lock()
_resources: Optional[Tuple[Any, SafetyTexts]] = None


def _load() -> Tuple[Any, SafetyTexts]:
    global _resources
    if _resources is None:
        with _lock:
            if _resources is None:
                from footnlp.pipeline import load_pipeline

                lexicon, texts = load_content()
                nlp = load_pipeline()
                _resources = (nlp, texts)
    return _resources


def preload() -> None:
    """Load the pipeline and texts now (e.g. when the action server starts)."""
    _load()


def reset_cache() -> None:
    """Forget the loaded pipeline and texts (after editing the content files)."""
    global _resources
    with _lock:
        _resources = None


def texts() -> SafetyTexts:
    """The validated texts of content/safety.yml."""
    return _load()[1]


def check(text: Optional[str], findings: Any = None) -> SafetyCheck:
    """Red flags and contraindications the user mentions (negated mentions excluded).

    `findings` is what the Rasa NLU pipeline already found in this text (the
    ``footcare_safety`` entry of the parse data, set by
    footnlp.rasa_component.FootcareEntityExtractor with the same pipeline).
    When it is usable it is taken as is; otherwise (a button payload, a tracker
    made without NLU, anything malformed or naming an unknown id) the text is
    checked here.
    """
    nlp, safety_texts = _load()
    found = _usable(findings, safety_texts)
    if found is None:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_CHARS]
        if not text.strip():
            return SafetyCheck()
        from footnlp.pipeline import safety_findings

        found = safety_findings(nlp(text))
    red_flags, contraindications = found["red_flags"], found["contraindications"]
    emergency = any(
        safety_texts.red_flags[f].level == "emergency"
        for f in red_flags
        if f in safety_texts.red_flags
    )
    return SafetyCheck(red_flags=red_flags, emergency=emergency, contraindications=contraindications)


def _usable(findings: Any, safety_texts: SafetyTexts) -> Optional[Dict[str, List[str]]]:
    if not isinstance(findings, dict):
        return None
    red_flags, contraindications = findings.get("red_flags"), findings.get("contraindications")
    if not isinstance(red_flags, list) or not isinstance(contraindications, list):
        return None
    if not all(isinstance(f, str) and f in safety_texts.red_flags for f in red_flags):
        return None
    if not all(isinstance(c, str) and c in safety_texts.contraindications for c in contraindications):
        return None
    return {"red_flags": list(red_flags), "contraindications": list(contraindications)}


def _fill(template: str, emergency_number: str) -> str:
    return template.format(emergency_number=emergency_number)


def urgent_reply(result: SafetyCheck, emergency_number: str) -> Optional[str]:
    """The text that must start the reply when a red flag is present, else None.

    Emergency-level flags get the emergency introduction (call the emergency
    number / go to the emergency department now), others the urgent one (see a
    doctor today, no massage until then); then one reason per red flag,
    emergencies first.
    """
    if not result.red_flags:
        return None
    safety_texts = texts()
    number = (emergency_number or "").strip() or FALLBACK_EMERGENCY_NUMBER
    known = [f for f in result.red_flags if f in safety_texts.red_flags]
    emergency = result.emergency or any(
        safety_texts.red_flags[f].level == "emergency" for f in known
    )
    intro = safety_texts.emergency_intro if emergency else safety_texts.urgent_intro
    ordered = sorted(known, key=lambda f: safety_texts.red_flags[f].level != "emergency")
    lines = [_fill(intro, number)]
    if ordered:
        lines.append("")
        lines.extend(f"- {_fill(safety_texts.red_flags[f].reason, number)}" for f in ordered)
    return "\n".join(lines)


def precaution_reply(result: SafetyCheck) -> Optional[str]:
    """Precautions for each contraindication the user mentioned, else None.

    Asks them to clear massage with their doctor first and names what needs
    care for each one.
    """
    safety_texts = texts()
    known = [c for c in result.contraindications if c in safety_texts.contraindications]
    if not known:
        return None
    # no placeholders are allowed in these texts; format() only turns {{ }} into { }
    lines = [safety_texts.precaution_intro.format(), ""]
    lines.extend(f"- {safety_texts.contraindications[c].format()}" for c in known)
    lines.extend(["", safety_texts.precaution_outro.format()])
    return "\n".join(lines)


__all__ = [
    "SafetyCheck",
    "check",
    "urgent_reply",
    "precaution_reply",
    "preload",
    "reset_cache",
    "texts",
    "MAX_CHARS",
]
