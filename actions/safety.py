"""The safety layer: what the user's words mean for their safety, and what to say.

The one home of safety decisions and wording.  It reads content/safety.yml
(triage levels, warning signs, precautions, their sources) and checks it on
load; the language layer (footnlp/) only finds things.  Plain module, no Rasa
types::

    from actions import safety

    result = safety.check("my calf is swollen and warm since my flight")
    result.red_flags          # ["calf_clot"]        warning signs going on now
    result.urgency            # "same_day"           highest level among them
    result.contraindications  # ["suspected_clot", ...] precautions mentioned
    result.history            # warning signs that are over ("a DVT years ago")
    result.cleared            # the user says a doctor has checked it
    result.health             # names a body part, symptom, medicine... (doctor line)
    result.sources            # {"calf_clot": "lexicon"} or "encoder 0.71"

    before = safety.Memory.from_slots(red_flags=[...], urgency="soon", contraindications=[...])
    advice = safety.advise(result, before, clinic().placeholders(), topic="self_massage")
    advice.opening            # paragraphs that start the reply
    advice.hold_back          # hold back massage instructions
    advice.closing            # the closing line for an emergency, else None
    advice.memory.slots()     # red_flags / urgency / contraindications to store

Levels, most urgent first (content/safety.yml words them):
``emergency`` (call the emergency number now), ``same_day`` (urgent care or
A&E today), ``soon`` (see a doctor within days).  While the conversation's
highest level holds back (emergency, same_day), massage instructions stay
held back and every reply repeats the advice in one line, until the user says
a doctor has checked it.

Findings: the Rasa NLU component puts what footnlp found into the parse data
(``footcare_safety``, see footnlp.findings.safety_findings): ``red_flags``,
``contraindications``, ``history``, ``cleared``, ``health`` and, from a second
detector, optionally ``similar`` = {id: similarity 0..1}.  :func:`check` takes
them as they are when they are well formed (ids in ``similar`` count as found
too: recall first), and otherwise reads the text itself.
"""

from __future__ import annotations

import re
import string
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from footcare_content.files import CONTENT_DIR, ContentError, load_yaml
from footnlp.lexicon import Lexicon, LexiconError, load_lexicon

SAFETY_FILE = CONTENT_DIR / "safety.yml"
#: longer messages are checked in full up to this many characters
MAX_CHARS = 20000
#: the triage levels, most urgent first
LEVELS = ("emergency", "same_day", "soon")
#: placeholders the texts may use (filled from content/clinic.yml)
PLACEHOLDERS = {"emergency_number", "doctor", "urgent_care", "out_of_hours", "clinic_name", "phone"}
#: service names and numbers of the regions (actions/clinic.py): never written
#: into safety.yml itself, so that a reply cannot mix them
_REGION_WORDS = re.compile(
    r"\b(GP|A&E|ER|NHS|111|999|911|112|(?i:primary care|family doctor|emergency department|"
    r"emergency room|urgent care cent(?:er|re)|out-of-hours doctor))(?![\w&])",
)
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
#: what the parse data's findings must hold (footnlp.findings.FINDINGS_KEYS)
_LIST_KEYS = ("red_flags", "contraindications", "history")
_BOOL_KEYS = ("cleared", "health")
LEXICON_SOURCE = "lexicon"


# ------------------------------------------------------------------ content


@dataclass(frozen=True)
class Entry:
    """What every entry of safety.yml has: its id and the sources its facts come from."""

    id: str
    sources: Tuple[str, ...]


@dataclass(frozen=True)
class Level(Entry):
    """An urgency level: what to do, how it is worded, whether it holds answers back."""

    action: str
    care: str
    reminder: str
    closing: str
    holds_back: bool


@dataclass(frozen=True)
class Sign(Entry):
    """A warning sign (red flag) and its level."""

    level: str
    name: str
    reason: str


@dataclass(frozen=True)
class Precaution(Entry):
    """A contraindication's precaution text."""

    text: str


@dataclass(frozen=True)
class SafetyContent:
    """content/safety.yml, checked."""

    levels: Mapping[str, Level]
    red_flags: Mapping[str, Sign]
    contraindications: Mapping[str, Precaution]
    clinic_line: str
    cleared: str
    precaution_intro: str
    precaution_reminder: str
    precaution_outro: str
    precaution_topics: Tuple[str, ...]
    source: str = "<memory>"


_TOP_KEYS = {
    "version", "levels", "red_flags", "contraindications", "clinic_line", "cleared",
    "precaution_intro", "precaution_reminder", "precaution_outro", "precaution_topics",
}
_LEVEL_KEYS = {"action", "care", "reminder", "closing", "holds_back", "sources"}
_SIGN_KEYS = {"level", "name", "reason", "sources"}
_PRECAUTION_KEYS = {"precaution", "sources"}


def _text(path, data: Mapping[str, Any], key: str, where: str, allowed: Iterable[str] = PLACEHOLDERS, required: bool = True) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ContentError(path, where, "must be a non-empty text")
    text = " ".join(value.split())
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ContentError(path, where, f"has a broken {{placeholder}} ({exc}); write a literal brace as {{{{ or }}}}") from None
    unknown = names - set(allowed)
    if unknown:
        hint = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
        raise ContentError(path, where, f"uses unknown placeholder {{{sorted(unknown)[0]}}}; allowed here: {hint}")
    literal = _REGION_WORDS.search(string.Formatter().vformat(text, (), _Blank()))
    if literal:
        raise ContentError(
            path, where,
            f"names {literal.group(1)!r} itself; use {{doctor}}, {{urgent_care}}, {{out_of_hours}} or "
            "{emergency_number}, which come from the clinic's region (content/clinic.yml)",
        )
    return text


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _sources(path, data: Mapping[str, Any], where: str) -> Tuple[str, ...]:
    value = data.get("sources")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and _URL.match(v.strip()) for v in value):
        raise ContentError(path, f"{where}.sources", "must be a non-empty list of web addresses (http:// or https://)")
    return tuple(v.strip() for v in value)


def _entries(path, data: Mapping[str, Any], section: str, keys: set) -> Iterable[Tuple[str, str, Mapping[str, Any]]]:
    raw = data.get(section)
    if not isinstance(raw, Mapping) or not raw:
        raise ContentError(path, section, "must be a non-empty mapping of ids")
    for entry_id, body in raw.items():
        where = f"{section}.{entry_id}"
        if not isinstance(entry_id, str) or not re.match(r"^[a-z][a-z0-9_]*$", entry_id):
            raise ContentError(path, where, "is not a valid id (lower-case letters, digits and _)")
        if not isinstance(body, Mapping):
            raise ContentError(path, where, f"must be a mapping with {', '.join(sorted(keys))}")
        extra = sorted(set(body) - keys)
        if extra:
            raise ContentError(path, f"{where}.{extra[0]}", f"is not a known key; expected: {', '.join(sorted(keys))}")
        yield where, entry_id, body


def parse_content(data: Any, path: Any = "<memory>", lexicon: Optional[Lexicon] = None) -> SafetyContent:
    """Check the parsed YAML of safety.yml; with ``lexicon`` also that both files name the same ids."""
    if not isinstance(data, Mapping):
        raise ContentError(path, "", "the top level must be a mapping of keys")
    if data.get("version") != 2:
        raise ContentError(path, "version", "must be 2")
    extra = sorted(set(data) - _TOP_KEYS)
    if extra:
        raise ContentError(path, extra[0], f"is not a known key; expected one of: {', '.join(sorted(_TOP_KEYS))}")

    raw_levels = data.get("levels")
    if not isinstance(raw_levels, Mapping) or list(raw_levels) != list(LEVELS):
        raise ContentError(path, "levels", f"must list exactly {', '.join(LEVELS)}, in this order")
    levels: Dict[str, Level] = {}
    for where, level_id, body in _entries(path, data, "levels", _LEVEL_KEYS):
        holds = body.get("holds_back")
        if not isinstance(holds, bool):
            raise ContentError(path, f"{where}.holds_back", "must be true or false")
        action = _text(path, body, "action", f"{where}.action")
        if len([s for s in re.split(r"(?<=[.!?])\s+", action) if s]) != 1:
            raise ContentError(path, f"{where}.action", "must be one sentence")
        levels[level_id] = Level(
            id=level_id,
            action=action,
            care=_text(path, body, "care", f"{where}.care"),
            reminder=_text(path, body, "reminder", f"{where}.reminder", PLACEHOLDERS | {"what"}, required=holds),
            closing=_text(path, body, "closing", f"{where}.closing", required=False),
            holds_back=holds,
            sources=_sources(path, body, where),
        )
        if levels[level_id].closing and "doctor" not in levels[level_id].closing.lower():
            raise ContentError(path, f"{where}.closing", "must recommend seeing a doctor")

    signs: Dict[str, Sign] = {}
    for where, rid, body in _entries(path, data, "red_flags", _SIGN_KEYS):
        if body.get("level") not in LEVELS:
            raise ContentError(path, f"{where}.level", f"must be one of: {', '.join(LEVELS)}")
        signs[rid] = Sign(
            id=rid,
            level=body["level"],
            name=_text(path, body, "name", f"{where}.name", ()),
            reason=_text(path, body, "reason", f"{where}.reason"),
            sources=_sources(path, body, where),
        )
    precautions: Dict[str, Precaution] = {}
    for where, cid, body in _entries(path, data, "contraindications", _PRECAUTION_KEYS):
        precautions[cid] = Precaution(id=cid, text=_text(path, body, "precaution", f"{where}.precaution", ()),
                                      sources=_sources(path, body, where))

    topics = data.get("precaution_topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ContentError(path, "precaution_topics", "must be a list of topic ids")
    from footcare_content.knowledge import knowledge

    known = list(knowledge().topics)
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise ContentError(path, "precaution_topics", f"{unknown[0]!r} is not a topic; use ids from {', '.join(known)}")

    content = SafetyContent(
        levels=levels,
        red_flags=signs,
        contraindications=precautions,
        clinic_line=_text(path, data, "clinic_line", "clinic_line"),
        cleared=_text(path, data, "cleared", "cleared", ()),
        precaution_intro=_text(path, data, "precaution_intro", "precaution_intro", ()),
        precaution_reminder=_text(path, data, "precaution_reminder", "precaution_reminder", ()),
        precaution_outro=_text(path, data, "precaution_outro", "precaution_outro", ()),
        precaution_topics=tuple(topics),
        source=str(path),
    )
    if lexicon is not None:
        check_lexicon(content, lexicon)
    return content


def check_lexicon(content: SafetyContent, lexicon: Lexicon) -> None:
    """Every warning sign and precaution the lexicon can find is worded in safety.yml, and no other."""
    for category, section, worded in (
        ("red_flag", "red_flags", content.red_flags),
        ("contraindication", "contraindications", content.contraindications),
    ):
        found = lexicon.ids(category)
        for cid in found:
            if cid not in worded:
                raise ContentError(content.source, f"{section}.{cid}", f"is missing ({category}.{cid} is defined in {lexicon.source})")
        for cid in worded:
            if cid not in found:
                raise ContentError(lexicon.source, f"{category}.{cid}", f"is missing ({section}.{cid} is defined in {content.source})")


def load_content(path: Any = SAFETY_FILE, lexicon: Optional[Lexicon] = None) -> SafetyContent:
    """Read and check content/safety.yml (a problem raises ContentError naming file and key)."""
    return parse_content(load_yaml(path), path, lexicon)


# ------------------------------------------------------------------ loading

_lock = threading.Lock()
_resources: Optional[Tuple[Any, SafetyContent]] = None


def _load() -> Tuple[Any, SafetyContent]:
    global _resources
    if _resources is None:
        with _lock:
            if _resources is None:
                from footnlp.pipeline import load_pipeline

                lexicon = load_lexicon()
                content = load_content(SAFETY_FILE, lexicon)
                _resources = (load_pipeline(), content)
    return _resources


def preload() -> None:
    """Load the pipeline and texts now (e.g. when the action server starts)."""
    _load()


def texts() -> SafetyContent:
    """The checked content of content/safety.yml."""
    return _load()[1]


# ------------------------------------------------------------------ finding


def level_of(ids: Iterable[str]) -> Optional[str]:
    """The most urgent level among these warning signs (unknown ids are left out), or None."""
    content = texts()
    found = {content.red_flags[i].level for i in ids if i in content.red_flags}
    return next((level for level in LEVELS if level in found), None)


def highest(*levels: Optional[str]) -> Optional[str]:
    """The most urgent of the given levels (None and unknown values are left out)."""
    return next((level for level in LEVELS if level in levels), None)


@dataclass(frozen=True)
class SafetyCheck:
    """What the safety layer found in one message."""

    red_flags: List[str] = field(default_factory=list)
    contraindications: List[str] = field(default_factory=list)
    #: warning signs mentioned as over, long ago, or checked by a doctor
    history: List[str] = field(default_factory=list)
    #: the user says a doctor has checked it ("my GP says it's not a clot")
    cleared: bool = False
    #: the message names a body part, symptom, condition, medicine or treatment
    health: bool = False
    #: which detector found each id: "lexicon", "encoder 0.71" or "lexicon, encoder 0.71"
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


def check(text: Optional[str], findings: Any = None) -> SafetyCheck:
    """Warning signs and precautions in what the user wrote.

    ``findings`` is what the Rasa NLU pipeline already found in this text (the
    ``footcare_safety`` entry of the parse data).  When it is well formed it is
    taken as is, with the ids of its optional ``similar`` part (a second
    detector) added to those of the lexicon; otherwise (a button payload, a
    tracker made without NLU, an older model, anything malformed or naming an
    unknown id) the text is checked here.
    """
    nlp, content = _load()
    found = _usable(findings, content)
    if found is None:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_CHARS]
        if not text.strip():
            return SafetyCheck()
        from footnlp.findings import safety_findings

        found = safety_findings(nlp(text))
    sources = {i: LEXICON_SOURCE for key in ("red_flags", "contraindications") for i in found[key]}
    red_flags, contraindications = list(found["red_flags"]), list(found["contraindications"])
    for sid, similarity in (found.get("similar") or {}).items():
        label = f"encoder {similarity:.2f}"
        sources[sid] = f"{sources[sid]}, {label}" if sid in sources else label
        target = red_flags if sid in content.red_flags else contraindications
        if sid not in target:
            target.append(sid)
    return SafetyCheck(
        red_flags=red_flags,
        contraindications=contraindications,
        history=[h for h in found["history"] if h not in red_flags],
        cleared=bool(found["cleared"]),
        health=bool(found["health"]) or bool(red_flags or contraindications),
        sources=sources,
    )


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
    similar = findings.get("similar")
    if similar is not None:
        if not isinstance(similar, dict):
            return None
        for sid, value in similar.items():
            if not isinstance(sid, str) or (sid not in content.red_flags and sid not in content.contraindications):
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                return None
        similar = {sid: float(v) for sid, v in similar.items()}
    return {**{k: findings[k] for k in _LIST_KEYS + _BOOL_KEYS}, "similar": similar or {}}


# ------------------------------------------------------------------ memory


@dataclass(frozen=True)
class Memory:
    """What the conversation has told so far (the slots red_flags, urgency, contraindications)."""

    red_flags: Tuple[str, ...] = ()
    urgency: Optional[str] = None
    contraindications: Tuple[str, ...] = ()

    @classmethod
    def from_slots(
        cls, red_flags: Any = (), urgency: Any = None, contraindications: Any = ()
    ) -> "Memory":
        """From slot values as stored (ids no longer known are left out; a missing urgency comes from the red flags)."""
        content = texts()
        flags = tuple(dict.fromkeys(i for i in _as_list(red_flags) if i in content.red_flags))
        contra = tuple(dict.fromkeys(i for i in _as_list(contraindications) if i in content.contraindications))
        return cls(flags, highest(urgency if urgency in LEVELS else None, level_of(flags)), contra)

    @property
    def holds_back(self) -> bool:
        """Massage instructions are held back while the highest level says so."""
        return bool(self.urgency) and texts().levels[self.urgency].holds_back

    def slots(self) -> Dict[str, Any]:
        return {
            "red_flags": list(self.red_flags),
            "urgency": self.urgency,
            "contraindications": list(self.contraindications),
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
    )


# ------------------------------------------------------------------ wording


def _fill(template: str, places: Mapping[str, str], **extra: str) -> str:
    values = {name: "" for name in PLACEHOLDERS}
    values.update({k: v for k, v in places.items() if isinstance(v, str)})
    values.update(extra)
    return template.format(**values)


def _names(ids: Sequence[str]) -> str:
    names = [texts().red_flags[i].name for i in ids if i in texts().red_flags]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _by_urgency(ids: Iterable[str]) -> List[str]:
    signs = texts().red_flags
    known = [i for i in dict.fromkeys(ids) if i in signs]
    return sorted(known, key=lambda i: LEVELS.index(signs[i].level))


def warning_reply(red_flags: Sequence[str], places: Mapping[str, str]) -> Optional[str]:
    """The advice for these warning signs, or None: one action sentence for the
    most urgent level, then the reason for each sign (most urgent first), then
    what to do meanwhile and the clinic's phone."""
    ordered = _by_urgency(red_flags)
    if not ordered:
        return None
    content = texts()
    level = content.levels[content.red_flags[ordered[0]].level]
    lines = [_fill(level.action, places), ""]
    lines += [f"- {_fill(content.red_flags[i].reason, places)}" for i in ordered]
    lines += ["", _fill(level.care, places), _fill(content.clinic_line, places)]
    return "\n".join(lines)


def reminder(memory: Memory, places: Mapping[str, str]) -> Optional[str]:
    """The one-line reminder of the advice while the conversation's level holds back, else None."""
    if not memory.holds_back:
        return None
    level = texts().levels[memory.urgency]
    holding = [i for i in _by_urgency(memory.red_flags) if texts().red_flags[i].level == memory.urgency]
    return _fill(level.reminder, places, what=_names(holding) or "what you described")


def precautions(ids: Sequence[str], new: bool = True) -> Optional[str]:
    """One or two lines for each precaution, or None.

    ``new``: the user has just told about one (ask them to check with their
    doctor, and to tell the therapist); otherwise a shorter reminder.
    """
    content = texts()
    known = [c for c in dict.fromkeys(ids) if c in content.contraindications]
    if not known:
        return None
    lines = [(content.precaution_intro if new else content.precaution_reminder).format()]
    lines += [f"- {content.contraindications[c].text.format()}" for c in known]
    if new:
        lines.append(content.precaution_outro.format())
    return "\n".join(lines)


@dataclass(frozen=True)
class Advice:
    """What the safety layer adds to one reply."""

    memory: Memory  # to store
    opening: List[str]  # paragraphs that start the reply, in order
    hold_back: bool  # hold back massage instructions
    closing: Optional[str]  # the reply's closing line instead of the usual one, if any
    health: bool  # the reply must point to a doctor
    cleared: bool  # a remembered warning was cleared by this message
    offer: bool  # the reply may offer a next topic (not with a warning sign now, nor while held back)


def advise(result: SafetyCheck, before: Memory, places: Mapping[str, str], topic: Optional[str] = None) -> Advice:
    """Everything the safety layer says in a reply to ``result``, given what the
    conversation told before (``before``) and the reply's ``topic`` (a topic
    id of content/knowledge.yml, or None for other messages)."""
    content = texts()
    memory = remember(before, result)
    cleared = result.cleared and bool(before.red_flags or before.urgency)
    opening: List[str] = []
    if cleared:
        opening.append(_fill(content.cleared, places))
    warning = warning_reply(result.red_flags, places)
    if warning:
        opening.append(warning)
    if memory.holds_back and (not warning or LEVELS.index(memory.urgency) < LEVELS.index(result.urgency)):
        opening.append(reminder(memory, places))  # remembered, or more urgent than what is new
    new = [c for c in result.contraindications if c not in before.contraindications]
    if topic in content.precaution_topics and memory.contraindications:
        text = precautions(memory.contraindications, new=bool(new))
    else:
        text = precautions(result.contraindications, new=True)
    if text:
        opening.append(text)
    emergency = content.levels["emergency"]
    return Advice(
        memory=memory,
        opening=opening,
        hold_back=memory.holds_back,
        closing=emergency.closing or None if memory.urgency == "emergency" else None,
        health=result.health or bool(opening),
        cleared=cleared,
        offer=not memory.holds_back and not result.red_flags,
    )


__all__ = [
    "LEVELS",
    "Advice",
    "Memory",
    "SafetyCheck",
    "SafetyContent",
    "advise",
    "check",
    "highest",
    "level_of",
    "load_content",
    "parse_content",
    "precautions",
    "preload",
    "remember",
    "reminder",
    "texts",
    "warning_reply",
    "MAX_CHARS",
]


def main() -> int:
    """``python -m actions.safety``: check content/safety.yml and that it words every id of the lexicon."""
    try:
        content = load_content(SAFETY_FILE, load_lexicon())
    except (ContentError, LexiconError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{content.source} is valid: {len(content.red_flags)} warning signs and "
          f"{len(content.contraindications)} precautions, the same as the lexicon's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
