"""Load and validate the therapist-editable content files.

* ``content/lexicon.yml`` - concepts (conditions, body parts, symptoms, tools,
  medicines, treatments, red flags, contraindications, "a doctor has checked
  it" and helper context words), each with the terms people use for it and,
  optionally, combinations of other concepts that together mean the concept
  (for example "calf" + "swollen" = possible clot).
* ``content/safety.yml`` - only its ids are read here, to check that every red
  flag and contraindication the language layer can find has its wording there.
  The texts, levels and sources of that file are read and checked by
  ``actions/safety.py``, the one home of the safety wording and decisions.

Everything in this module is plain Python (no spaCy import) so it is cheap to
import and can be used by schema checks and tests.  Any problem raises
:class:`LexiconError` whose message names the file and the key, e.g.::

    LexiconError: content/lexicon.yml: red_flag.calf_clot.terms must be a non-empty list of strings
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

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
    "medicine": "MEDICINE",
    "treatment": "TREATMENT",
    "red_flag": "RED_FLAG",
    "contraindication": "CONTRAINDICATION",
    "clearance": "CLEARANCE",
    "context": "CONTEXT",
    "ignore": "IGNORE",
}
#: helper categories: only used to build other concepts, never reported themselves
HELPER_CATEGORIES = ("body_part", "symptom", "tool", "medicine", "treatment", "context")
#: a mention of one of these makes the message a health message (the reply then
#: ends with the doctor recommendation), negated or not: "no pain, can I book?"
HEALTH_CATEGORIES = ("condition", "body_part", "symptom", "medicine", "treatment", "red_flag", "contraindication")
LABEL_TO_CATEGORY = {label: cat for cat, label in CATEGORIES.items()}
REQUIRED_CATEGORIES = ("condition", "red_flag", "contraindication")

#: Where a combination has to be found.
SCOPES = ("sentence", "message")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONCEPT_KEYS = {"terms", "combinations", "description", "overridden_by", "unless", "history", "lasting"}
_COMBINATION_KEYS = {"all_of", "scope", "window", "unless"}
_SETTINGS_DEFAULTS = {"combination_window": 10, "spelling_correction": True, "spelling_min_length": 5}


class LexiconError(ValueError):
    """A content file is missing, malformed or inconsistent."""


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Combination:
    """All parts (concept ids or category names) must be mentioned, not negated,
    and none of ``unless`` in the same clause (the whole message for scope message)."""

    all_of: Tuple[str, ...]
    scope: str = "sentence"
    window: Optional[int] = None  # None: use settings.combination_window
    unless: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"all_of": list(self.all_of), "scope": self.scope}
        if self.window is not None:
            data["window"] = self.window
        if self.unless:
            data["unless"] = list(self.unless)
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
    #: ids of concepts that cancel a mention of this one in the same clause
    #: ("red and warm" + "after the massage" is a normal side effect)
    unless: Tuple[str, ...] = ()
    #: red flags only: the contraindication a past, resolved mention stands for
    #: ("a clot years ago" -> suspected_clot)
    history: str = ""
    #: contraindications only: does a past mention still count? (a clot years
    #: ago does; a pregnancy or a fracture that has healed does not)
    lasting: bool = True

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
        if self.unless:
            data["unless"] = list(self.unless)
        if self.history:
            data["history"] = self.history
        if not self.lasting:
            data["lasting"] = False
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


@dataclass
class SafetyTexts:
    """The ids content/safety.yml words (its texts are read by actions/safety.py)."""

    red_flags: Tuple[str, ...]
    contraindications: Tuple[str, ...]
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
    raw_unless: Dict[str, Tuple[str, Any]] = {}
    raw_history: Dict[str, Tuple[str, Any]] = {}
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

            concepts[cid] = Concept(cid, category, terms, (), description.strip())
            if has_combos:
                raw_combinations[cid] = [(key, body["combinations"])]
            if body.get("overridden_by") is not None:
                raw_overrides[cid] = (key, body["overridden_by"])
            if body.get("unless") is not None:
                raw_unless[cid] = (key, body["unless"])
            if body.get("history") is not None:
                if category != "red_flag":
                    raise LexiconError(f"{shown}: {key}.history is only for red flags")
                raw_history[cid] = (key, body["history"])
            if "lasting" in body:
                if category != "contraindication":
                    raise LexiconError(f"{shown}: {key}.lasting is only for contraindications")
                if not isinstance(body["lasting"], bool):
                    raise LexiconError(f"{shown}: {key}.lasting must be true or false")
                concepts[cid] = replace(concepts[cid], lasting=body["lasting"])

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
                unless = _concept_ids(shown, f"{ckey}.unless", combo.get("unless"), concepts, cid)
                parsed.append(Combination(tuple(parts), scope, window, unless))
            concepts[cid] = replace(concepts[cid], combinations=tuple(parsed))

    for cid, (key, ids) in raw_overrides.items():
        concepts[cid] = replace(
            concepts[cid], overridden_by=_concept_ids(shown, f"{key}.overridden_by", ids, concepts, cid)
        )
    for cid, (key, ids) in raw_unless.items():
        concepts[cid] = replace(concepts[cid], unless=_concept_ids(shown, f"{key}.unless", ids, concepts, cid))
    for cid, (key, target) in raw_history.items():
        if not isinstance(target, str) or concepts.get(target) is None or concepts[target].category != "contraindication":
            raise LexiconError(f"{shown}: {key}.history must be the id of a contraindication (got {target!r})")
        concepts[cid] = replace(concepts[cid], history=target)

    _check_combination_cycles(concepts, shown)
    return Lexicon(concepts=concepts, settings=settings, source=shown, sha256=sha256)


def _concept_ids(shown: str, key: str, ids: Any, concepts: Mapping[str, Concept], own: str) -> Tuple[str, ...]:
    """A list of other concepts' ids (``overridden_by``, ``unless``); None is empty."""
    if ids is None:
        return ()
    if not _is_str_list(ids):
        raise LexiconError(f"{shown}: {key} must be a non-empty list of concept ids")
    for other in ids:
        if other not in concepts or other == own:
            raise LexiconError(f"{shown}: {key} refers to unknown concept {other!r}")
    return tuple(ids)


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


def condition_ids(path: Union[str, Path, None] = None) -> Tuple[str, ...]:
    """The conditions the assistant knows: the ``condition`` concepts of the lexicon, in file order.

    They are the values of the Rasa entity and slot ``condition``; content/knowledge.yml
    names each of them (``make validate`` checks that every file agrees).
    """
    return tuple(load_lexicon(path).ids("condition"))


# ------------------------------------------------------------------------- safety


def parse_safety(
    data: Any, source: str = "<memory>", sha256: str = "", lexicon: Optional[Lexicon] = None
) -> SafetyTexts:
    """The red-flag and contraindication ids of a parsed safety.yml.

    Only the ids are read here: the language layer checks that every concept
    it can report has its wording.  actions/safety.py reads and checks the
    rest of the file (levels, texts, sources).
    """
    shown = source
    if not isinstance(data, dict):
        raise LexiconError(f"{shown}: the file must be a mapping")
    found: Dict[str, Tuple[str, ...]] = {}
    for section, noun in (("red_flags", "red-flag"), ("contraindications", "contraindication")):
        raw = data.get(section)
        if not isinstance(raw, dict) or not raw:
            raise LexiconError(f"{shown}: {section} must be a non-empty mapping of {noun} ids")
        for entry_id in raw:
            if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
                raise LexiconError(f"{shown}: {section}.{entry_id} is not a valid id")
        found[section] = tuple(raw)
    safety = SafetyTexts(found["red_flags"], found["contraindications"], source=shown, sha256=sha256)
    if lexicon is not None:
        check_consistency(lexicon, safety)
    return safety


def load_safety(
    path: Union[str, Path, None] = None, lexicon: Optional[Lexicon] = None
) -> SafetyTexts:
    """Read the ids of ``safety.yml``; with ``lexicon`` also check both files agree."""
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
    """Load the lexicon and the ids of safety.yml and check that they agree."""
    lexicon = load_lexicon(lexicon_path)
    safety = load_safety(safety_path, lexicon)
    return lexicon, safety
