"""content/safety.yml: the triage levels, warning signs and precautions, checked on load.

A mistake in the file raises ContentError naming the file and key, so the
action server stops at once instead of answering with a broken text.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

from footcare_content.files import CONTENT_DIR, ContentError, load_yaml
from footnlp.lexicon import Lexicon, load_lexicon

SAFETY_FILE = CONTENT_DIR / "safety.yml"
#: the triage levels, most urgent first
LEVELS = ("emergency", "same_day", "soon")
#: placeholders the texts may use (filled from content/clinic.yml)
PLACEHOLDERS = {"emergency_number", "doctor", "urgent_care", "out_of_hours", "clinic_name", "phone"}
#: service names and numbers of the regions (footcare_content/clinic.py): never written
#: into safety.yml itself, so that a reply cannot mix them
_REGION_WORDS = re.compile(
    r"\b(GP|A&E|ER|NHS|111|999|911|112|(?i:primary care|family doctor|emergency department|"
    r"emergency room|urgent care cent(?:er|re)|out-of-hours doctor))(?![\w&])",
)
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")


@dataclass(frozen=True)
class Entry:
    """What every entry of safety.yml has: its id and the sources its facts come from."""

    id: str
    sources: Tuple[str, ...]


@dataclass(frozen=True)
class Level(Entry):
    """An urgency level: what to do, how it is worded, whether it holds answers back."""

    action: str
    #: how soon, in a few words, for other texts ({when_<sign>} in content/knowledge.yml)
    when: str
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
    #: a topic whose answer says the same (pregnancy): a reply answering it leaves the precaution out
    answered_by: Optional[str] = None


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
    "version",
    "levels",
    "red_flags",
    "contraindications",
    "clinic_line",
    "cleared",
    "precaution_intro",
    "precaution_reminder",
    "precaution_outro",
    "precaution_topics",
}
_LEVEL_KEYS = {"action", "when", "care", "reminder", "closing", "holds_back", "sources"}
_SIGN_KEYS = {"level", "name", "reason", "sources"}
_PRECAUTION_KEYS = {"precaution", "sources", "answered_by"}


def checked_text(
    path, data: Mapping[str, Any], key: str, where: str, allowed: Iterable[str] = PLACEHOLDERS, required: bool = True
) -> str:
    value = data.get(key) if isinstance(data, Mapping) else None
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ContentError(path, where, "must be a non-empty text")
    text = " ".join(value.split())
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ContentError(
            path, where, f"has a broken {{placeholder}} ({exc}); write a literal brace as {{{{ or }}}}"
        ) from None
    unknown = names - set(allowed)
    if unknown:
        hint = ", ".join("{" + n + "}" for n in sorted(allowed)) or "none"
        raise ContentError(path, where, f"uses unknown placeholder {{{sorted(unknown)[0]}}}; allowed here: {hint}")
    literal = _REGION_WORDS.search(string.Formatter().vformat(text, (), _Blank()))
    if literal:
        raise ContentError(
            path,
            where,
            f"names {literal.group(1)!r} itself; use {{doctor}}, {{urgent_care}}, {{out_of_hours}} or "
            "{emergency_number}, which come from the clinic's region (content/clinic.yml)",
        )
    return text


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def checked_sources(path, data: Mapping[str, Any], where: str) -> Tuple[str, ...]:
    value = data.get("sources")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and _URL.match(v.strip()) for v in value):
        raise ContentError(path, f"{where}.sources", "must be a non-empty list of web addresses (http:// or https://)")
    return tuple(v.strip() for v in value)


def checked_entries(
    path, data: Mapping[str, Any], section: str, keys: set
) -> Iterable[Tuple[str, str, Mapping[str, Any]]]:
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


def checked_top(path, data: Any, version: int, keys: set) -> None:
    """A content file's top level: a mapping of known keys, of the expected version."""
    if not isinstance(data, Mapping):
        raise ContentError(path, "", "the top level must be a mapping of keys")
    if data.get("version") != version:
        raise ContentError(path, "version", f"must be {version}")
    extra = sorted(set(data) - keys)
    if extra:
        raise ContentError(path, extra[0], f"is not a known key; expected one of: {', '.join(sorted(keys))}")


def parse_content(data: Any, path: Any = "<memory>", lexicon: Optional[Lexicon] = None) -> SafetyContent:
    """Check the parsed YAML of safety.yml; with ``lexicon`` also that both files name the same ids."""
    checked_top(path, data, 2, _TOP_KEYS)

    raw_levels = data.get("levels")
    if not isinstance(raw_levels, Mapping) or list(raw_levels) != list(LEVELS):
        raise ContentError(path, "levels", f"must list exactly {', '.join(LEVELS)}, in this order")
    levels: Dict[str, Level] = {}
    for where, level_id, body in checked_entries(path, data, "levels", _LEVEL_KEYS):
        holds = body.get("holds_back")
        if not isinstance(holds, bool):
            raise ContentError(path, f"{where}.holds_back", "must be true or false")
        action = checked_text(path, body, "action", f"{where}.action")
        if len([s for s in re.split(r"(?<=[.!?])\s+", action) if s]) != 1:
            raise ContentError(path, f"{where}.action", "must be one sentence")
        levels[level_id] = Level(
            id=level_id,
            action=action,
            when=checked_text(path, body, "when", f"{where}.when"),
            care=checked_text(path, body, "care", f"{where}.care"),
            reminder=checked_text(path, body, "reminder", f"{where}.reminder", PLACEHOLDERS | {"what"}, required=holds),
            closing=checked_text(path, body, "closing", f"{where}.closing", required=False),
            holds_back=holds,
            sources=checked_sources(path, body, where),
        )
        if levels[level_id].closing and "doctor" not in levels[level_id].closing.lower():
            raise ContentError(path, f"{where}.closing", "must recommend seeing a doctor")

    signs: Dict[str, Sign] = {}
    for where, rid, body in checked_entries(path, data, "red_flags", _SIGN_KEYS):
        if body.get("level") not in LEVELS:
            raise ContentError(path, f"{where}.level", f"must be one of: {', '.join(LEVELS)}")
        signs[rid] = Sign(
            id=rid,
            level=body["level"],
            name=checked_text(path, body, "name", f"{where}.name", ()),
            reason=checked_text(path, body, "reason", f"{where}.reason"),
            sources=checked_sources(path, body, where),
        )
    precautions: Dict[str, Precaution] = {}
    for where, cid, body in checked_entries(path, data, "contraindications", _PRECAUTION_KEYS):
        precautions[cid] = Precaution(
            id=cid,
            text=checked_text(path, body, "precaution", f"{where}.precaution", ()),
            sources=checked_sources(path, body, where),
            answered_by=body.get("answered_by"),
        )

    topics = data.get("precaution_topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ContentError(path, "precaution_topics", "must be a list of topic ids")
    from footcare_content.knowledge import knowledge

    known = list(knowledge().topics)
    unknown = [t for t in topics if t not in known]
    if unknown:
        raise ContentError(path, "precaution_topics", f"{unknown[0]!r} is not a topic; use ids from {', '.join(known)}")
    for cid, precaution in precautions.items():
        if precaution.answered_by is not None and precaution.answered_by not in known:
            raise ContentError(
                path, f"contraindications.{cid}.answered_by", f"must be a topic id from {', '.join(known)}"
            )

    content = SafetyContent(
        levels=levels,
        red_flags=signs,
        contraindications=precautions,
        clinic_line=checked_text(path, data, "clinic_line", "clinic_line"),
        cleared=checked_text(path, data, "cleared", "cleared", ()),
        precaution_intro=checked_text(path, data, "precaution_intro", "precaution_intro", ()),
        precaution_reminder=checked_text(path, data, "precaution_reminder", "precaution_reminder", ()),
        precaution_outro=checked_text(path, data, "precaution_outro", "precaution_outro", ()),
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
                raise ContentError(
                    content.source, f"{section}.{cid}", f"is missing ({category}.{cid} is defined in {lexicon.source})"
                )
        for cid in worded:
            if cid not in found:
                raise ContentError(
                    lexicon.source, f"{category}.{cid}", f"is missing ({section}.{cid} is defined in {content.source})"
                )


def load_content(path: Any = SAFETY_FILE, lexicon: Optional[Lexicon] = None) -> SafetyContent:
    """Read and check content/safety.yml (a problem raises ContentError naming file and key)."""
    return parse_content(load_yaml(path), path, lexicon)


@lru_cache(maxsize=1)
def texts() -> SafetyContent:
    """The checked content of content/safety.yml (read once; checked against the lexicon's ids)."""
    return load_content(SAFETY_FILE, load_lexicon())


def preload() -> None:
    """Read and check the safety texts and screening questions now (when the action server starts)."""
    from actions.safety.screening import questions

    texts()
    questions()
