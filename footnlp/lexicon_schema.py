"""The checks of content/lexicon.yml: parsed YAML in, a :class:`Lexicon` out. Plain Python.

Any problem raises :class:`footcare_content.files.ContentError` whose message names the file and the key, e.g.::

    ContentError: content/lexicon.yml: red_flag.calf_clot.terms: must be a non-empty list of strings

Concepts are read first, category by category; what refers to other concepts
(combinations, ``overridden_by``, ``unless``, ``history``) is checked once
every id is known.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Dict, List, Mapping, Set, Tuple

from footcare_content.files import ContentError
from footnlp.lexicon_model import (
    CATEGORIES,
    REQUIRED_CATEGORIES,
    SCOPES,
    SETTINGS_DEFAULTS,
    Combination,
    Concept,
    Lexicon,
)

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_CONCEPT_KEYS = {"terms", "combinations", "description", "overridden_by", "unless", "history", "lasting"}
_COMBINATION_KEYS = {"all_of", "scope", "window", "unless"}
#: the keys whose values name other concepts: read after every concept
_REFERENCES = ("combinations", "overridden_by", "unless", "history")


def parse_lexicon(data: Any, source: str = "<memory>", sha256: str = "") -> Lexicon:
    """Validate the parsed YAML of a lexicon file and build a :class:`Lexicon`."""
    shown = source
    _check_top_level(data, shown)
    settings = _parse_settings(data.get("settings") or {}, shown)

    concepts: Dict[str, Concept] = {}
    #: concept id -> (its key in the file, {reference key: raw value})
    references: Dict[str, Tuple[str, Dict[str, Any]]] = {}
    for category in CATEGORIES:
        members = data.get(category)
        if members is None:
            continue
        if not isinstance(members, dict):
            raise ContentError(shown, category, "must be a mapping of concept ids")
        seen_terms: Dict[str, str] = {}
        for cid, body in members.items():
            key = f"{category}.{cid}"
            concept, body = _parse_concept(shown, category, cid, body, concepts, seen_terms)
            concepts[cid] = concept
            refs = {ref: body[ref] for ref in _REFERENCES if body.get(ref) is not None}
            if refs:
                references[cid] = (key, refs)

    for cid, (key, refs) in references.items():
        concepts[cid] = _resolve(shown, key, concepts[cid], refs, concepts)
    _check_combination_cycles(concepts, shown)
    return Lexicon(concepts=concepts, settings=settings, source=shown, sha256=sha256)


def _check_top_level(data: Any, shown: str) -> None:
    if not isinstance(data, dict):
        raise ContentError(shown, "", "the file must be a mapping of categories to concepts")
    allowed_top = set(CATEGORIES) | {"settings", "version"}
    for key in data:
        if key not in allowed_top:
            raise ContentError(
                shown,
                str(key),
                f"is not a known category; expected one of: {', '.join(list(CATEGORIES) + ['settings'])}",
            )
    for category in REQUIRED_CATEGORIES:
        if not data.get(category):
            raise ContentError(shown, category, "must be a non-empty mapping of concept ids")


def _parse_settings(raw: Any, shown: str) -> Dict[str, Any]:
    settings = dict(SETTINGS_DEFAULTS)
    if not isinstance(raw, dict):
        raise ContentError(shown, "settings", "must be a mapping")
    for key, value in raw.items():
        if key not in SETTINGS_DEFAULTS:
            raise ContentError(
                shown, f"settings.{key}", f"is not a known setting; expected one of: {', '.join(SETTINGS_DEFAULTS)}"
            )
        default = SETTINGS_DEFAULTS[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ContentError(shown, f"settings.{key}", "must be true or false")
        elif not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ContentError(shown, f"settings.{key}", "must be a positive whole number")
        settings[key] = value
    return settings


def _parse_concept(
    shown: str, category: str, cid: Any, body: Any, concepts: Mapping[str, Concept], seen_terms: Dict[str, str]
) -> Tuple[Concept, Dict[str, Any]]:
    """One concept without its references to other concepts, and its body as a mapping."""
    key = f"{category}.{cid}"
    if not isinstance(cid, str) or not ID_RE.match(cid):
        raise ContentError(shown, key, "is not a valid id (use lower-case letters, digits and _)")
    if cid in concepts:
        raise ContentError(
            shown, key, f"duplicates the id already used in {concepts[cid].category}.{cid}; ids must be unique"
        )
    if body is None:
        body = {}
    if isinstance(body, list):
        body = {"terms": body}  # shorthand: a bare list of terms
    if not isinstance(body, dict):
        raise ContentError(shown, key, "must be a mapping with a terms list")
    _check_keys(shown, key, body, _CONCEPT_KEYS)
    description = body.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise ContentError(shown, f"{key}.description", "must be a string")

    terms_raw = body.get("terms")
    if terms_raw is None and body.get("combinations") is not None:
        terms: Tuple[str, ...] = ()
    else:
        terms = _parse_terms(shown, category, cid, terms_raw, seen_terms)

    if body.get("history") is not None and category != "red_flag":
        raise ContentError(shown, f"{key}.history", "is only for red flags")
    lasting = True
    if "lasting" in body:
        if category != "contraindication":
            raise ContentError(shown, f"{key}.lasting", "is only for contraindications")
        if not isinstance(body["lasting"], bool):
            raise ContentError(shown, f"{key}.lasting", "must be true or false")
        lasting = body["lasting"]
    return Concept(cid, category, terms, (), description.strip(), lasting=lasting), body


def _parse_terms(shown: str, category: str, cid: str, terms_raw: Any, seen_terms: Dict[str, str]) -> Tuple[str, ...]:
    """The terms of one concept; ``seen_terms`` (term key -> concept id) holds those of its category so far."""
    key = f"{category}.{cid}"
    if not _is_str_list(terms_raw):
        raise ContentError(shown, f"{key}.terms", "must be a non-empty list of strings")
    cleaned: List[str] = []
    local: Dict[str, int] = {}
    for i, term in enumerate(terms_raw):
        tkey = _term_key(term)
        if not any(ch.isalnum() for ch in tkey):
            raise ContentError(shown, f"{key}.terms[{i}]", f"({term!r}) must contain a letter or digit")
        if tkey in local:
            raise ContentError(shown, f"{key}.terms[{i}]", f"({term!r}) is listed twice in this concept")
        local[tkey] = i
        if tkey in seen_terms:
            raise ContentError(
                shown,
                f"{key}.terms[{i}]",
                f"({term!r}) is also a term of {category}.{seen_terms[tkey]}; "
                "a term can belong to only one concept per category",
            )
        seen_terms[tkey] = cid
        cleaned.append(" ".join(term.split()))
    return tuple(cleaned)


def _resolve(shown: str, key: str, concept: Concept, refs: Dict[str, Any], concepts: Mapping[str, Concept]) -> Concept:
    """The concept with its combinations, ``overridden_by``, ``unless`` and ``history`` checked."""
    cid = concept.id
    changes: Dict[str, Any] = {}
    if "combinations" in refs:
        changes["combinations"] = _parse_combinations(shown, key, cid, refs["combinations"], concepts)
    for ref in ("overridden_by", "unless"):
        if ref in refs:
            changes[ref] = _concept_ids(shown, f"{key}.{ref}", refs[ref], concepts, cid)
    if "history" in refs:
        target = refs["history"]
        if (
            not isinstance(target, str)
            or concepts.get(target) is None
            or concepts[target].category != "contraindication"
        ):
            raise ContentError(shown, f"{key}.history", f"must be the id of a contraindication (got {target!r})")
        changes["history"] = target
    return replace(concept, **changes)


def _parse_combinations(
    shown: str, key: str, cid: str, combos: Any, concepts: Mapping[str, Concept]
) -> Tuple[Combination, ...]:
    if not isinstance(combos, list) or not combos:
        raise ContentError(shown, f"{key}.combinations", "must be a non-empty list")
    parsed: List[Combination] = []
    for i, combo in enumerate(combos):
        ckey = f"{key}.combinations[{i}]"
        if isinstance(combo, list):
            combo = {"all_of": combo}
        if not isinstance(combo, dict):
            raise ContentError(shown, ckey, "must be a mapping with all_of")
        _check_keys(shown, ckey, combo, _COMBINATION_KEYS)
        parts = combo.get("all_of")
        if not _is_str_list(parts) or len(parts) < 2:
            raise ContentError(shown, f"{ckey}.all_of", "must be a list of at least two concept ids")
        for part in parts:
            if part == cid:
                raise ContentError(shown, f"{ckey}.all_of", f"cannot contain {cid} itself")
            if part not in concepts and part not in CATEGORIES:
                raise ContentError(shown, f"{ckey}.all_of", f"refers to unknown concept {part!r}")
        scope = combo.get("scope", "sentence")
        if scope not in SCOPES:
            raise ContentError(shown, f"{ckey}.scope", f"must be one of: {', '.join(SCOPES)}")
        window = combo.get("window")
        if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 0):
            raise ContentError(shown, f"{ckey}.window", "must be a whole number >= 0")
        unless = _concept_ids(shown, f"{ckey}.unless", combo.get("unless"), concepts, cid)
        parsed.append(Combination(tuple(parts), scope, window, unless))
    return tuple(parsed)


def _check_keys(shown: str, key: str, body: Mapping[str, Any], allowed: Set[str]) -> None:
    for sub in body:
        if sub not in allowed:
            raise ContentError(
                shown, f"{key}.{sub}", f"is not a known key; expected one of: {', '.join(sorted(allowed))}"
            )


def _concept_ids(shown: str, key: str, ids: Any, concepts: Mapping[str, Concept], own: str) -> Tuple[str, ...]:
    """A list of other concepts' ids (``overridden_by``, ``unless``); None is empty."""
    if ids is None:
        return ()
    if not _is_str_list(ids):
        raise ContentError(shown, key, "must be a non-empty list of concept ids")
    for other in ids:
        if other not in concepts or other == own:
            raise ContentError(shown, key, f"refers to unknown concept {other!r}")
    return tuple(ids)


def _check_combination_cycles(concepts: Mapping[str, Concept], shown: str) -> None:
    state: Dict[str, int] = {}

    def visit(cid: str, trail: List[str]) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            cycle = " -> ".join(trail + [cid])
            closing = concepts[trail[-1]]  # its combinations lead back to cid
            raise ContentError(shown, f"{closing.category}.{closing.id}.combinations", f"form a cycle: {cycle}")
        state[cid] = 1
        for combo in concepts[cid].combinations:
            for part in combo.all_of:
                if part in concepts:
                    visit(part, trail + [cid])
        state[cid] = 2

    for cid in concepts:
        visit(cid, [])


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(v, str) and v.strip() for v in value)


def _term_key(term: str) -> str:
    """How duplicates are detected: case, spacing and hyphens do not count."""
    return " ".join(re.split(r"[\s\-]+", term.strip().lower().replace("\u2019", "'")))
