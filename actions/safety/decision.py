"""The decision from the NLU's findings: which warning signs a message tells, which it only hints at.

The Rasa NLU pipeline puts what it found on the message (``footcare_safety``,
footnlp.findings and footnlp.warning_sign_component): the lexicon's
``red_flags``, ``contraindications``, ``history``, ``cleared`` and ``health``,
and the learned detector's ``learned`` (signs told in the writer's own words),
``suspected`` (signs it is unsure of: a screening question settles them) and
``gated`` (signs of the lexicon it does not back: asked about, not raised).
The action server trusts these findings and reads no text itself: a message
without them (a button payload, a tracker made without NLU, anything malformed)
counts as telling nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from actions.safety.content import LEVELS, SafetyContent, texts

LEXICON_SOURCE = "lexicon"
_LIST_KEYS = ("red_flags", "contraindications", "history")
_BOOL_KEYS = ("cleared", "health")
_SCORE_KEYS = ("learned", "suspected")


def level_of(ids: Iterable[str]) -> Optional[str]:
    """The most urgent level among these warning signs (unknown ids are left out), or None."""
    content = texts()
    found = {content.red_flags[i].level for i in ids if i in content.red_flags}
    return next((level for level in LEVELS if level in found), None)


def highest(*levels: Optional[str]) -> Optional[str]:
    """The most urgent of the given levels (None and unknown values are left out)."""
    return next((level for level in LEVELS if level in levels), None)


def more_urgent(level: Optional[str], than: Optional[str]) -> bool:
    """Whether `level` is more urgent than `than` (any level is more urgent than None)."""
    if level not in LEVELS:
        return False
    return than not in LEVELS or LEVELS.index(level) < LEVELS.index(than)


@dataclass(frozen=True)
class SafetyCheck:
    """What the safety layer takes from one message."""

    red_flags: List[str] = field(default_factory=list)
    contraindications: List[str] = field(default_factory=list)
    #: warning signs mentioned as over, long ago, or checked by a doctor
    history: List[str] = field(default_factory=list)
    #: the user says a doctor has checked it ("my GP says it's not a clot")
    cleared: bool = False
    #: the message names a body part, symptom, condition, medicine or treatment (doctor line)
    health: bool = False
    #: warning signs hinted at but not settled: a screening question asks about them
    suspected: List[str] = field(default_factory=list)
    #: which detector found each id: "lexicon", "learned 0.93"
    sources: Dict[str, str] = field(default_factory=dict)

    @property
    def urgency(self) -> Optional[str]:
        """The most urgent level among the red flags, or None."""
        return level_of(self.red_flags)

    @property
    def emergency(self) -> bool:
        return self.urgency == "emergency"

    @property
    def urgent(self) -> bool:
        """Any warning sign at all."""
        return bool(self.red_flags)


def check(findings: Any) -> SafetyCheck:
    """The warning signs, precautions and hints of one message, from its NLU findings."""
    content = texts()
    found = _usable(findings, content)
    if found is None:
        return SafetyCheck()
    gated = [i for i in found["gated"] if i in found["red_flags"]]
    sources = {i: LEXICON_SOURCE for key in ("red_flags", "contraindications") for i in found[key]}
    red_flags = [i for i in found["red_flags"] if i not in gated]
    for sid, score in found["learned"].items():
        sources[sid] = f"{sources[sid]}, learned {score:.2f}" if sid in sources else f"learned {score:.2f}"
        if sid not in red_flags:
            red_flags.append(sid)
    suspected = [sid for sid, _ in sorted(found["suspected"].items(), key=lambda kv: -kv[1]) if sid not in red_flags]
    for sid in suspected:
        sources[sid] = f"suspected {found['suspected'][sid]:.2f}"
    for sid in gated:
        sources[sid] = "lexicon, not backed by the classifier"
        if sid not in red_flags and sid not in suspected:
            suspected.append(sid)
    return SafetyCheck(
        red_flags=red_flags,
        contraindications=list(found["contraindications"]),
        history=[h for h in found["history"] if h not in red_flags],
        cleared=bool(found["cleared"]),
        health=bool(found["health"]) or bool(red_flags or found["contraindications"] or suspected),
        suspected=suspected,
        sources=sources,
    )


def told(sign: str) -> Dict[str, Any]:
    """Findings for a warning sign the user confirmed (a Yes to a screening question)."""
    return {"red_flags": [sign], "contraindications": [], "history": [], "cleared": False, "health": True}


def merge(*findings: Any) -> Dict[str, Any]:
    """Several messages' findings as one (a message and the answer to its screening question).
    Ill-formed ones are left out; nothing stays suspected, since the screening has settled it."""
    content = texts()
    out: Dict[str, Any] = {
        **{k: [] for k in _LIST_KEYS},
        **{k: False for k in _BOOL_KEYS},
        "learned": {},
        "suspected": {},
        "gated": [],
    }
    for found in findings:
        usable = _usable(found, content)
        if usable is None:
            continue
        for key in _LIST_KEYS:
            out[key] = list(
                dict.fromkeys([*out[key], *(i for i in usable[key] if key != "red_flags" or i not in usable["gated"])])
            )
        for key in _BOOL_KEYS:
            out[key] = out[key] or usable[key]
        out["learned"].update(usable["learned"])
    return out


def _usable(findings: Any, content: SafetyContent) -> Optional[Dict[str, Any]]:
    if not isinstance(findings, dict):
        return None
    for key in _LIST_KEYS:
        if not isinstance(findings.get(key), list) or not all(isinstance(i, str) for i in findings[key]):
            return None
    for key in _BOOL_KEYS:
        if not isinstance(findings.get(key), bool):
            return None
    if not all(i in content.red_flags for i in findings["red_flags"] + findings["history"]):
        return None
    if not all(i in content.contraindications for i in findings["contraindications"]):
        return None
    gated = findings.get("gated") or []
    if not isinstance(gated, list) or not all(i in content.red_flags for i in gated):
        return None
    scores: Dict[str, Any] = {"gated": list(gated)}
    for key in _SCORE_KEYS:
        value = findings.get(key)
        if value is None:
            scores[key] = {}
            continue
        if not isinstance(value, dict):
            return None
        for sid, score in value.items():
            if sid not in content.red_flags or isinstance(score, bool) or not isinstance(score, (int, float)):
                return None
            if not 0.0 <= float(score) <= 1.0:
                return None
        scores[key] = {sid: float(v) for sid, v in value.items()}
    return {**{k: findings[k] for k in _LIST_KEYS + _BOOL_KEYS}, **scores}
