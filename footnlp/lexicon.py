"""Load and validate the therapist-editable content files.

* ``content/lexicon.yml`` - concepts (conditions, body parts, symptoms, tools,
  red flags, contraindications and helper context words), each with the terms
  people use for it and, optionally, combinations of other concepts that
  together mean the concept (for example "calf" + "swollen" = possible clot).
* ``content/safety.yml`` - for every red flag its urgency level and a plain
  reason, for every contraindication a precaution, plus the general texts.

Everything in this module is plain Python (no spaCy import) so it is cheap to
import and can be used by schema checks and tests.  Any problem raises
:class:`LexiconError` whose message names the file and the key, e.g.::

    LexiconError: content/lexicon.yml: red_flag.calf_clot.terms must be a non-empty list of strings
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LEXICON_PATH = PROJECT_ROOT / "content" / "lexicon.yml"
DEFAULT_SAFETY_PATH = PROJECT_ROOT / "content" / "safety.yml"

#: Categories in the order they are listed in the file, with the spaCy label used
#: for their entities.
CATEGORIES: Dict[str, str] = {
    "condition": "CONDITION",
    "body_part": "BODY_PART",
    "symptom": "SYMPTOM",
    "tool": "TOOL",
    "red_flag": "RED_FLAG",
    "contraindication": "CONTRAINDICATION",
    "context": "CONTEXT",
    "ignore": "IGNORE",
}
#: helper categories: only used to build other concepts, never reported themselves
HELPER_CATEGORIES = ("body_part", "symptom", "tool", "context")
LABEL_TO_CATEGORY = {label: cat for cat, label in CATEGORIES.items()}
REQUIRED_CATEGORIES = ("condition", "red_flag", "contraindication")

#: The canonical values of the Rasa entity ``condition`` (fixed by the design).
CONDITION_IDS = ("plantar_fasciitis", "metatarsalgia", "heel_spur", "achilles_tendonitis")

#: Where a combination has to be found.
SCOPES = ("sentence", "message")
LEVELS = ("emergency", "urgent")
ALLOWED_PLACEHOLDERS = {"emergency_number"}

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONCEPT_KEYS = {"terms", "combinations", "description", "overridden_by"}
_COMBINATION_KEYS = {"all_of", "scope", "window"}
_SETTINGS_DEFAULTS = {"combination_window": 10, "spelling_correction": True, "spelling_min_length": 8}

SAFETY_TEXT_KEYS = ("emergency_intro", "urgent_intro", "precaution_intro", "precaution_outro")


class LexiconError(ValueError):
    """A content file is missing, malformed or inconsistent."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Combination:
    """All parts (concept ids or category names) must be mentioned, not negated."""

    all_of: Tuple[str, ...]
    scope: str = "sentence"
    window: Optional[int] = None  # None: use settings.combination_window

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"all_of": list(self.all_of), "scope": self.scope}
        if self.window is not None:
            data["window"] = self.window
        return data


@dataclass(frozen=True)
class Concept:
    id: str
    category: str
    terms: Tuple[str, ...] = ()
    combinations: Tuple[Combination, ...] = ()
    description: str = ""
    #: ids of concepts that replace this one where both cover the same words
    overridden_by: Tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return CATEGORIES[self.category]

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {}
        if self.description:
            data["description"] = self.description
        if self.terms:
            data["terms"] = list(self.terms)
        if self.combinations:
            data["combinations"] = [c.to_dict() for c in self.combinations]
        if self.overridden_by:
            data["overridden_by"] = list(self.overridden_by)
        return data


@dataclass
class Lexicon:
    concepts: Dict[str, Concept]
    settings: Dict[str, Any] = field(default_factory=lambda: dict(_SETTINGS_DEFAULTS))
    source: str = "<memory>"
    sha256: str = ""

    def ids(self, category: str) -> List[str]:
        return [c.id for c in self.concepts.values() if c.category == category]

    def by_category(self, category: str) -> List[Concept]:
        return [c for c in self.concepts.values() if c.category == category]

    def to_dict(self) -> Dict[str, Any]:
        """The lexicon in the same shape as lexicon.yml (used to save a pipeline)."""
        data: Dict[str, Any] = {"settings": dict(self.settings)}
        for category in CATEGORIES:
            members = self.by_category(category)
            if members:
                data[category] = {c.id: c.to_dict() for c in members}
        return data


@dataclass(frozen=True)
class RedFlagText:
    level: str
    reason: str


@dataclass
class SafetyTexts:
    red_flags: Dict[str, RedFlagText]
    contraindications: Dict[str, str]
    emergency_intro: str
    urgent_intro: str
    precaution_intro: str
    precaution_outro: str
    source: str = "<memory>"
    sha256: str = ""


# ------------------------------------------------------------------------ helpers


def display_path(path: Union[str, Path]) -> str:
    """A short path for messages: relative to the project (or cwd) when possible."""
    p = Path(path)
    try:
        resolved = p.resolve()
    except OSError:  # pragma: no cover - exotic paths
        return str(path)
    for base in (Path.cwd(), PROJECT_ROOT):
        try:
            return str(resolved.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def file_sha256(path: Union[str, Path]) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_yaml(path: Union[str, Path]) -> Tuple[Any, str, str]:
    shown = display_path(path)
    p = Path(path)
    if not p.is_file():
        raise LexiconError(f"{shown}: file not found")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LexiconError(f"{shown}: file is not valid UTF-8 ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LexiconError(f"{shown}: invalid YAML{where}: {problem}") from None
    return data, shown, hashlib.sha256(raw).hexdigest()


def _is_str_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(v, str) and v.strip() for v in value)
    )


def _placeholders(text: str) -> List[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def _check_text(
    shown: str,
    key: str,
    value: Any,
    required: Iterable[str] = (),
    allowed: Iterable[str] = tuple(ALLOWED_PLACEHOLDERS),
) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LexiconError(f"{shown}: {key} must be a non-empty string")
    try:
        names = _placeholders(value)
    except ValueError as exc:
        raise LexiconError(
            f"{shown}: {key} has a broken placeholder ({exc}); write literal braces as {{{{ and }}}}"
        ) from None
    allowed = set(allowed)
    for name in names:
        if name not in allowed:
            hint = (
                f"allowed: {', '.join('{' + n + '}' for n in sorted(allowed))}"
                if allowed
                else "no placeholders are allowed here"
            )
            raise LexiconError(f"{shown}: {key} uses unknown placeholder {{{name}}}; {hint}")
    for name in required:
        if name not in names:
            raise LexiconError(f"{shown}: {key} must contain the placeholder {{{name}}}")
    return value.strip()


def _term_key(term: str) -> str:
    """How duplicates are detected: case, spacing and hyphens do not count."""
    return " ".join(re.split(r"[\s\-]+", term.strip().lower().replace("\u2019", "'")))


# ------------------------------------------------------------------------ lexicon


def parse_lexicon(data: Any, source: str = "<memory>", sha256: str = "") -> Lexicon:
    """Validate the parsed YAML of a lexicon file and build a :class:`Lexicon`."""
    shown = source
    if not isinstance(data, dict):
        raise LexiconError(f"{shown}: the file must be a mapping of categories to concepts")

    allowed_top = set(CATEGORIES) | {"settings", "version"}
    for key in data:
        if key not in allowed_top:
            raise LexiconError(
                f"{shown}: {key} is not a known category; "
                f"expected one of: {', '.join(list(CATEGORIES) + ['settings'])}"
            )
    for category in REQUIRED_CATEGORIES:
        if not data.get(category):
            raise LexiconError(f"{shown}: {category} must be a non-empty mapping of concept ids")

    settings = dict(_SETTINGS_DEFAULTS)
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, dict):
        raise LexiconError(f"{shown}: settings must be a mapping")
    for key, value in raw_settings.items():
        if key not in _SETTINGS_DEFAULTS:
            raise LexiconError(
                f"{shown}: settings.{key} is not a known setting; "
                f"expected one of: {', '.join(_SETTINGS_DEFAULTS)}"
            )
        default = _SETTINGS_DEFAULTS[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise LexiconError(f"{shown}: settings.{key} must be true or false")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise LexiconError(f"{shown}: settings.{key} must be a positive whole number")
        settings[key] = value

    concepts: Dict[str, Concept] = {}
    raw_combinations: Dict[str, List[Tuple[str, Any]]] = {}
    raw_overrides: Dict[str, Tuple[str, Any]] = {}
    for category in CATEGORIES:
        members = data.get(category)
        if members is None:
            continue
        if not isinstance(members, dict):
            raise LexiconError(f"{shown}: {category} must be a mapping of concept ids")
        seen_terms: Dict[str, str] = {}
        for cid, body in members.items():
            key = f"{category}.{cid}"
            if not isinstance(cid, str) or not _ID_RE.match(cid):
                raise LexiconError(
                    f"{shown}: {key} is not a valid id (use lower-case letters, digits and _)"
                )
            if cid in concepts:
                raise LexiconError(
                    f"{shown}: {key} duplicates the id already used in "
                    f"{concepts[cid].category}.{cid}; ids must be unique"
                )
            if body is None:
                body = {}
            if isinstance(body, list):
                body = {"terms": body}  # shorthand: a bare list of terms
            if not isinstance(body, dict):
                raise LexiconError(f"{shown}: {key} must be a mapping with a terms list")
            for sub in body:
                if sub not in _CONCEPT_KEYS:
                    raise LexiconError(
                        f"{shown}: {key}.{sub} is not a known key; "
                        f"expected one of: {', '.join(sorted(_CONCEPT_KEYS))}"
                    )
            description = body.get("description", "")
            if description is None:
                description = ""
            if not isinstance(description, str):
                raise LexiconError(f"{shown}: {key}.description must be a string")

            terms_raw = body.get("terms")
            has_combos = body.get("combinations") is not None
            if terms_raw is None and has_combos:
                terms: Tuple[str, ...] = ()
            else:
                if not _is_str_list(terms_raw):
                    raise LexiconError(f"{shown}: {key}.terms must be a non-empty list of strings")
                cleaned: List[str] = []
                local: Dict[str, int] = {}
                for i, term in enumerate(terms_raw):
                    tkey = _term_key(term)
                    if not any(ch.isalnum() for ch in tkey):
                        raise LexiconError(
                            f"{shown}: {key}.terms[{i}] ({term!r}) must contain a letter or digit"
                        )
                    if tkey in local:
                        raise LexiconError(
                            f"{shown}: {key}.terms[{i}] ({term!r}) is listed twice in this concept"
                        )
                    local[tkey] = i
                    if tkey in seen_terms:
                        raise LexiconError(
                            f"{shown}: {key}.terms[{i}] ({term!r}) is also a term of "
                            f"{category}.{seen_terms[tkey]}; a term can belong to only one "
                            f"concept per category"
                        )
                    seen_terms[tkey] = cid
                    cleaned.append(" ".join(term.split()))
                terms = tuple(cleaned)

            if category == "condition" and cid not in CONDITION_IDS:
                raise LexiconError(
                    f"{shown}: {key} is not one of the fixed condition ids "
                    f"({', '.join(CONDITION_IDS)})"
                )
            concepts[cid] = Concept(cid, category, terms, (), description.strip())
            if has_combos:
                raw_combinations[cid] = [(key, body["combinations"])]
            if body.get("overridden_by") is not None:
                raw_overrides[cid] = (key, body["overridden_by"])

    for cid in CONDITION_IDS:
        if cid not in concepts:
            raise LexiconError(f"{shown}: condition.{cid} is missing (condition ids are fixed)")

    # combinations refer to other concepts, so they are checked once all ids are known
    for cid, entries in raw_combinations.items():
        for key, combos in entries:
            if not isinstance(combos, list) or not combos:
                raise LexiconError(f"{shown}: {key}.combinations must be a non-empty list")
            parsed: List[Combination] = []
            for i, combo in enumerate(combos):
                ckey = f"{key}.combinations[{i}]"
                if isinstance(combo, list):
                    combo = {"all_of": combo}
                if not isinstance(combo, dict):
                    raise LexiconError(f"{shown}: {ckey} must be a mapping with all_of")
                for sub in combo:
                    if sub not in _COMBINATION_KEYS:
                        raise LexiconError(
                            f"{shown}: {ckey}.{sub} is not a known key; "
                            f"expected one of: {', '.join(sorted(_COMBINATION_KEYS))}"
                        )
                parts = combo.get("all_of")
                if not _is_str_list(parts) or len(parts) < 2:
                    raise LexiconError(
                        f"{shown}: {ckey}.all_of must be a list of at least two concept ids"
                    )
                for part in parts:
                    if part == cid:
                        raise LexiconError(f"{shown}: {ckey}.all_of cannot contain {cid} itself")
                    if part not in concepts and part not in CATEGORIES:
                        raise LexiconError(
                            f"{shown}: {ckey}.all_of refers to unknown concept {part!r}"
                        )
                scope = combo.get("scope", "sentence")
                if scope not in SCOPES:
                    raise LexiconError(
                        f"{shown}: {ckey}.scope must be one of: {', '.join(SCOPES)}"
                    )
                window = combo.get("window")
                if window is not None and (
                    not isinstance(window, int) or isinstance(window, bool) or window < 0
                ):
                    raise LexiconError(f"{shown}: {ckey}.window must be a whole number >= 0")
                parsed.append(Combination(tuple(parts), scope, window))
            old = concepts[cid]
            concepts[cid] = Concept(
                old.id, old.category, old.terms, tuple(parsed), old.description, old.overridden_by
            )

    for cid, (key, ids) in raw_overrides.items():
        if not _is_str_list(ids):
            raise LexiconError(f"{shown}: {key}.overridden_by must be a non-empty list of concept ids")
        for other in ids:
            if other not in concepts or other == cid:
                raise LexiconError(
                    f"{shown}: {key}.overridden_by refers to unknown concept {other!r}"
                )
        old = concepts[cid]
        concepts[cid] = Concept(
            old.id, old.category, old.terms, old.combinations, old.description, tuple(ids)
        )

    _check_combination_cycles(concepts, shown)
    return Lexicon(concepts=concepts, settings=settings, source=shown, sha256=sha256)


def _check_combination_cycles(concepts: Mapping[str, Concept], shown: str) -> None:
    state: Dict[str, int] = {}

    def visit(cid: str, trail: List[str]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            cycle = " -> ".join(trail + [cid])
            raise LexiconError(f"{shown}: combinations form a cycle: {cycle}")
        state[cid] = 1
        for combo in concepts[cid].combinations:
            for part in combo.all_of:
                if part in concepts:
                    visit(part, trail + [cid])
        state[cid] = 2

    for cid in concepts:
        visit(cid, [])


def load_lexicon(path: Union[str, Path, None] = None) -> Lexicon:
    """Read and validate ``lexicon.yml`` (default: the project's content/lexicon.yml)."""
    path = Path(path) if path is not None else DEFAULT_LEXICON_PATH
    data, shown, digest = _read_yaml(path)
    return parse_lexicon(data, shown, digest)


# ------------------------------------------------------------------------- safety


def _id_entries(
    shown: str, data: Dict[str, Any], section: str, noun: str, fields: Tuple[str, ...], expect: str
) -> Iterator[Tuple[str, str, Dict[str, Any]]]:
    """(key, id, body) of each entry of a non-empty ``section: {id: {field: ...}}``
    mapping whose ids are valid and whose bodies hold only `fields`."""
    raw = data.get(section)
    if not isinstance(raw, dict) or not raw:
        raise LexiconError(f"{shown}: {section} must be a non-empty mapping of {noun} ids")
    for entry_id, body in raw.items():
        key = f"{section}.{entry_id}"
        if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
            raise LexiconError(f"{shown}: {key} is not a valid id")
        if not isinstance(body, dict):
            raise LexiconError(f"{shown}: {key} must be a mapping with {expect}")
        for sub in body:
            if sub not in fields:
                raise LexiconError(f"{shown}: {key}.{sub} is not a known key; expected: {', '.join(fields)}")
        yield key, entry_id, body


def parse_safety(
    data: Any, source: str = "<memory>", sha256: str = "", lexicon: Optional[Lexicon] = None
) -> SafetyTexts:
    shown = source
    if not isinstance(data, dict):
        raise LexiconError(f"{shown}: the file must be a mapping")
    allowed = set(SAFETY_TEXT_KEYS) | {"red_flags", "contraindications", "version"}
    for key in data:
        if key not in allowed:
            raise LexiconError(
                f"{shown}: {key} is not a known key; expected one of: "
                f"{', '.join(list(SAFETY_TEXT_KEYS) + ['red_flags', 'contraindications'])}"
            )
    texts = {}
    for key in SAFETY_TEXT_KEYS:
        required = ("emergency_number",) if key == "emergency_intro" else ()
        allowed = () if key.startswith("precaution") else tuple(ALLOWED_PLACEHOLDERS)
        texts[key] = _check_text(shown, key, data.get(key), required, allowed)

    red_flags: Dict[str, RedFlagText] = {}
    for key, rid, body in _id_entries(shown, data, "red_flags", "red-flag", ("level", "reason"), "level and reason"):
        level = body.get("level")
        if level not in LEVELS:
            raise LexiconError(f"{shown}: {key}.level must be one of: {', '.join(LEVELS)}")
        reason = _check_text(shown, f"{key}.reason", body.get("reason"))
        red_flags[rid] = RedFlagText(level, reason)

    contraindications: Dict[str, str] = {}
    for key, cid, body in _id_entries(
        shown, data, "contraindications", "contraindication", ("precaution",), "a precaution"
    ):
        contraindications[cid] = _check_text(
            shown, f"{key}.precaution", body.get("precaution"), allowed=()
        )

    safety = SafetyTexts(
        red_flags=red_flags,
        contraindications=contraindications,
        source=shown,
        sha256=sha256,
        **texts,
    )
    if lexicon is not None:
        check_consistency(lexicon, safety)
    return safety


def load_safety(
    path: Union[str, Path, None] = None, lexicon: Optional[Lexicon] = None
) -> SafetyTexts:
    """Read and validate ``safety.yml``; with ``lexicon`` also check both files agree."""
    path = Path(path) if path is not None else DEFAULT_SAFETY_PATH
    data, shown, digest = _read_yaml(path)
    return parse_safety(data, shown, digest, lexicon)


def check_consistency(lexicon: Lexicon, safety: SafetyTexts) -> None:
    """Every red flag / contraindication id is in both files."""
    for category, section, known in (
        ("red_flag", "red_flags", safety.red_flags),
        ("contraindication", "contraindications", safety.contraindications),
    ):
        ids = lexicon.ids(category)
        for cid in ids:
            if cid not in known:
                raise LexiconError(
                    f"{safety.source}: {section}.{cid} is missing "
                    f"({category}.{cid} is defined in {lexicon.source})"
                )
        for cid in known:
            if cid not in ids:
                raise LexiconError(
                    f"{lexicon.source}: {category}.{cid} is missing "
                    f"({section}.{cid} is defined in {safety.source})"
                )


def load_content(
    lexicon_path: Union[str, Path, None] = None, safety_path: Union[str, Path, None] = None
) -> Tuple[Lexicon, SafetyTexts]:
    """Load both files and check that they agree."""
    lexicon = load_lexicon(lexicon_path)
    safety = load_safety(safety_path, lexicon)
    return lexicon, safety
