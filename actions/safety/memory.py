"""The conversation's memory of safety: the warning signs told so far, their highest level, the precautions.

Kept in the slots ``red_flags``, ``urgency`` and ``contraindications``; the
screening questions already asked are kept in ``screened`` (actions/safety/screening.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from actions.safety.content import LEVELS, texts
from actions.safety.decision import SafetyCheck, highest, level_of


@dataclass(frozen=True)
class Memory:
    """What the conversation has told so far (the slots red_flags, urgency, contraindications)."""

    red_flags: Tuple[str, ...] = ()
    urgency: Optional[str] = None
    contraindications: Tuple[str, ...] = ()
    #: the screening questions already asked (ids of content/screening.yml), each asked once
    screened: Tuple[str, ...] = ()

    @classmethod
    def from_slots(
        cls, red_flags: Any = (), urgency: Any = None, contraindications: Any = (), screened: Any = ()
    ) -> "Memory":
        """From slot values as stored (ids no longer known are left out; a missing urgency comes from the red flags)."""
        content = texts()
        flags = tuple(dict.fromkeys(i for i in _as_list(red_flags) if i in content.red_flags))
        contra = tuple(dict.fromkeys(i for i in _as_list(contraindications) if i in content.contraindications))
        asked = tuple(dict.fromkeys(_as_list(screened)))
        return cls(flags, highest(urgency if urgency in LEVELS else None, level_of(flags)), contra, asked)

    @property
    def holds_back(self) -> bool:
        """Massage instructions are held back while the highest level says so."""
        return bool(self.urgency) and texts().levels[self.urgency].holds_back

    def slots(self) -> Dict[str, Any]:
        return {
            "red_flags": list(self.red_flags),
            "urgency": self.urgency,
            "contraindications": list(self.contraindications),
            "screened": list(self.screened),
        }


def _as_list(value: Any) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def remember(before: Memory, result: SafetyCheck) -> Memory:
    """The memory after this message: a doctor's all-clear empties the warning
    signs (and the level); then this message's signs and precautions are added."""
    flags = () if result.cleared else before.red_flags
    urgency = None if result.cleared else before.urgency
    flags = tuple(dict.fromkeys([*flags, *result.red_flags]))
    return Memory(
        red_flags=flags,
        urgency=highest(urgency, level_of(flags)),
        contraindications=tuple(dict.fromkeys([*before.contraindications, *result.contraindications])),
        screened=before.screened,
    )
