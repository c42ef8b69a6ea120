"""The answers: content/knowledge.yml (topic x optional condition), checked on load.

The file is the one list of topics (and footnlp.topics reads their intents
from it); its `conditions` name the conditions of content/lexicon.yml, the one
list of conditions. `make validate` (scripts/check_domain.py) checks that
domain.yml, data/rules.yml and the NLU data agree with both.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from footcare_content.clinic import CLINIC_DETAILS, Clinic
from footcare_content.files import CONTENT_DIR, ContentError, load_yaml, require_mapping, require_text

KNOWLEDGE_FILE = CONTENT_DIR / "knowledge.yml"

#: topics the dialogue names itself (actions/dialogue.py): the menu offered while the user has
#: not picked a topic, the answer to a bare condition and the one to a symptom story
MENU = ("what_is_fascia_massage", "preparation", "procedure", "side_effects", "self_massage", "safety")
NAMED_TOPICS = (*MENU, "condition_info", "symptoms")
#: the most words a core answer (and a condition's paragraph) may have: it must fit a phone screen
CORE_WORDS = 70
MESSAGES = (
    "greet",
    "goodbye",
    "thank",
    "bot_challenge",
    "out_of_scope",
    "out_of_scope_while_warning",
    "fallback",
    "booking",
    "hello_line",
    "noted_condition",
    "noted",
    "did_you_mean",
    "offer",
    "declined_offer",
    "nothing_offered",
    "not_sure",
    "withheld",
    "unavailable",
    "restarted",
    "more_button",
    "no_more",
    "also_asked",
)
#: placeholders only some messages take
EXTRA_PLACEHOLDERS = {
    "offer": {"topic"},
    "noted_condition": {"condition"},
    "no_more": {"topic"},
    "also_asked": {"topics"},
}
PLACEHOLDERS = {"clinic_name", "phone", "email", "booking_url", "emergency_number", "opening_hours", "address"}
#: topic texts may also name what the clinic says about its sessions and fees (clinic_details),
#: and when to get a warning sign checked: {when_calf_clot} is the advice of calf_clot's level in
#: content/safety.yml ("get it checked today"), so no answer words a sign's urgency itself
TOPIC_PLACEHOLDERS = (
    PLACEHOLDERS
    | set(CLINIC_DETAILS)
    | {f"when_{sign}" for sign in (load_yaml(CONTENT_DIR / "safety.yml").get("red_flags") or {})}
)


#: an age as people write it: "my 9 year old", "a 75-year-old", "aged 12", "my father is 79, ..."
_AGE = re.compile(
    r"\b(\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b|\baged?\s+(\d{1,3})\b"
    r"|\b(?:is|am|i'm|im|he's|she's|hes|shes)\s+(\d{1,3})(?=\s*(?:[,.!?;]|$|and\b|years?\b|yrs?\b))"
)


@dataclass(frozen=True)
class Person:
    """Whom a question may be about ("my son", "my 80 year old mum"): its words, or an age in its
    range, name it; then `answer` is the topic's answer."""

    words: tuple[str, ...]
    ages: tuple[int, int]
    answer: str

    def named_in(self, text: str) -> bool:
        low = text.lower()
        if any(re.search(rf"\b{re.escape(w)}s?\b", low) for w in self.words):
            return True
        ages = [int(next(g for g in groups if g)) for groups in _AGE.findall(low)]
        return any(self.ages[0] <= age <= self.ages[1] for age in ages)


@dataclass(frozen=True)
class Topic:
    id: str
    intent: str
    title: str
    #: the core: answers the question in at most CORE_WORDS words
    answer: str
    #: the rest, sent on "Tell me more" ("" = nothing more)
    details: str
    by_condition: Mapping[str, str]
    next: tuple[str, ...]
    withhold_on_red_flag: bool
    #: with a known condition, its paragraph is the whole answer (the core is the general overview,
    #: e.g. the list of conditions, which only a question about them in general should get)
    condition_replaces_answer: bool = False
    #: when a condition's paragraph replaced the core, "Tell me more" gives the core first (the core
    #: is general advice the condition's paragraph leaves out, not a list only a general question needs)
    answer_in_more: bool = False
    #: right after this topic, a short follow-up read as the key topic asks the value topic
    short_follow_ups: Mapping[str, str] = field(default_factory=dict)
    #: whom a question may be about: when the message names just one of them, that one's answer
    by_person: Mapping[str, Person] = field(default_factory=dict)


@dataclass(frozen=True)
class Knowledge:
    doctor_recommendation: str
    condition_names: Mapping[str, str]
    topics: Mapping[str, Topic]
    messages: Mapping[str, str]
    #: clinic detail -> {"set": text with {value}, "not_set": text}
    clinic_details: Mapping[str, Mapping[str, str]]

    def topic_for_intent(self, intent: Optional[str]) -> Optional[Topic]:
        return next((t for t in self.topics.values() if t.intent == intent), None)

    def answer(self, topic_id: str, condition: Optional[str] = None, text: str = "") -> str:
        """The topic's core answer, after the condition's paragraph if there is one; for a message
        (`text`) about one of the topic's `by_person`, that person's answer."""
        topic = self.topics[topic_id]
        named = [p for p in topic.by_person.values() if p.named_in(text)]
        if len(named) == 1:
            return named[0].answer
        specific = topic.by_condition.get(condition or "")
        if specific and topic.condition_replaces_answer:
            return specific
        return f"{specific}\n\n{topic.answer}" if specific else topic.answer

    def details(self, topic_id: str, condition: Optional[str] = None) -> str:
        """What "Tell me more" adds to the topic's answer for this condition ("" when nothing more):
        the details, after the core when the condition's paragraph replaced it and `answer_in_more`."""
        topic = self.topics[topic_id]
        replaced = topic.condition_replaces_answer and (condition or "") in topic.by_condition
        core = topic.answer if replaced and topic.answer_in_more else ""
        return "\n\n".join(t for t in (core, topic.details) if t)

    def clinic_lines(self, clinic_: Clinic) -> dict[str, str]:
        """The sentence for each clinic detail: the clinic's value, or that it has not set one."""
        places = clinic_.placeholders()
        lines = {}
        for key, texts in self.clinic_details.items():
            value = clinic_.details.get(key, "")
            lines[key] = (texts["set"] if value else texts["not_set"]).format(**places, value=value)
        return lines


def _placeholders_in(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _check_placeholders(path, key: str, text: str, allowed: set[str]) -> None:
    try:
        names = _placeholders_in(text)
    except ValueError as exc:
        raise ContentError(path, key, f"has a broken {{placeholder}} ({exc})") from None
    unknown = names - allowed
    if unknown:
        raise ContentError(
            path, key, f"uses unknown placeholder {{{sorted(unknown)[0]}}}; allowed: {', '.join(sorted(allowed))}"
        )


def _load_topic(path, topic_id: str, raw, topic_ids: Sequence[str], conditions: Sequence[str]) -> Topic:
    prefix = f"topics.{topic_id}."
    if not isinstance(raw, Mapping):
        raise ContentError(path, f"topics.{topic_id}", "must be a mapping")
    by_condition = raw.get("by_condition") or {}
    if not isinstance(by_condition, Mapping):
        raise ContentError(path, f"{prefix}by_condition", "must be a mapping of condition to text")
    for condition in by_condition:
        if condition not in conditions:
            raise ContentError(
                path, f"{prefix}by_condition.{condition}", f"is not a condition; use one of {', '.join(conditions)}"
            )
        require_text(path, by_condition, condition, f"{prefix}by_condition.")
    nxt = raw.get("next") or []
    if not isinstance(nxt, list) or not all(n in topic_ids and n != topic_id for n in nxt):
        raise ContentError(path, f"{prefix}next", f"must be a list of other topic ids from {', '.join(topic_ids)}")
    follow_ups = raw.get("short_follow_ups") or {}
    if not isinstance(follow_ups, Mapping) or not all(k in topic_ids and v in topic_ids for k, v in follow_ups.items()):
        raise ContentError(
            path, f"{prefix}short_follow_ups", f"must map topic ids to topic ids from {', '.join(topic_ids)}"
        )
    withhold = raw.get("withhold_on_red_flag", False)
    if not isinstance(withhold, bool):
        raise ContentError(path, f"{prefix}withhold_on_red_flag", "must be true or false")
    replaces = raw.get("condition_replaces_answer", False)
    if not isinstance(replaces, bool):
        raise ContentError(path, f"{prefix}condition_replaces_answer", "must be true or false")
    in_more = raw.get("answer_in_more", False)
    if not isinstance(in_more, bool) or (in_more and not replaces):
        raise ContentError(
            path, f"{prefix}answer_in_more", "must be true or false, and true only with condition_replaces_answer"
        )
    by_person = _load_people(path, prefix, raw.get("by_person") or {})
    texts = {key: require_text(path, raw, key, prefix) for key in ("intent", "title", "answer")}
    details = raw.get("details") or ""
    if not isinstance(details, str):
        raise ContentError(path, f"{prefix}details", "must be a text (or left out)")
    texts["details"] = details.strip()
    _check_placeholders(path, f"{prefix}details", texts["details"], TOPIC_PLACEHOLDERS)
    answers = [
        ("answer", texts["answer"]),
        *((f"by_condition.{c}", t) for c, t in by_condition.items()),
        *((f"by_person.{k}.answer", p.answer) for k, p in by_person.items()),
    ]
    for key, text in answers:
        _check_placeholders(path, prefix + key, text, TOPIC_PLACEHOLDERS)
        words = len(text.split())
        if words > CORE_WORDS:
            raise ContentError(
                path,
                prefix + key,
                f"has {words} words; at most {CORE_WORDS} fit a phone screen: move the rest to details",
            )
    return Topic(
        id=topic_id,
        intent=texts["intent"],
        title=texts["title"],
        answer=texts["answer"],
        details=texts["details"],
        by_condition={c: t.strip() for c, t in by_condition.items()},
        next=tuple(nxt),
        withhold_on_red_flag=withhold,
        condition_replaces_answer=replaces,
        answer_in_more=in_more,
        short_follow_ups=dict(follow_ups),
        by_person=by_person,
    )


def _load_people(path, prefix: str, raw) -> dict[str, Person]:
    """A topic's `by_person`: {key: {words: [...], ages: [youngest, oldest], answer: text}}."""
    if not isinstance(raw, Mapping):
        raise ContentError(path, f"{prefix}by_person", "must be a mapping of whom to words, ages and answer")
    people = {}
    for key, person in raw.items():
        where = f"{prefix}by_person.{key}"
        if not isinstance(person, Mapping) or set(person) - {"words", "ages", "answer"}:
            raise ContentError(path, where, "must have only words, ages and answer")
        words = person.get("words")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w.strip() for w in words):
            raise ContentError(path, f"{where}.words", "must be a non-empty list of words")
        ages = person.get("ages")
        if (
            not (isinstance(ages, list) and len(ages) == 2 and all(isinstance(a, int) for a in ages))
            or ages[0] > ages[1]
        ):
            raise ContentError(path, f"{where}.ages", "must be [youngest, oldest], two whole numbers")
        answer = require_text(path, person, "answer", f"{where}.")
        people[str(key)] = Person(tuple(w.strip().lower() for w in words), (ages[0], ages[1]), answer)
    return people


def load_knowledge(path: Path | str = KNOWLEDGE_FILE) -> Knowledge:
    data = load_yaml(path)
    if data.get("version") != 1:
        raise ContentError(path, "version", "must be 1")
    doctor = require_text(path, data, "doctor_recommendation")
    if "doctor" not in doctor.lower():
        raise ContentError(path, "doctor_recommendation", "must recommend consulting a doctor")

    raw_conditions = require_mapping(path, data, "conditions")
    names = {c: require_text(path, raw_conditions[c] or {}, "name", f"conditions.{c}.") for c in raw_conditions}

    raw_topics = require_mapping(path, data, "topics")
    missing = [t for t in NAMED_TOPICS if t not in raw_topics]
    if missing:
        raise ContentError(path, f"topics.{missing[0]}", "is missing (the assistant answers it by name)")
    topic_ids = list(raw_topics)
    topics = {t: _load_topic(path, t, raw_topics[t], topic_ids, list(names)) for t in topic_ids}
    intents = [t.intent for t in topics.values()]
    duplicate = next((i for i in intents if intents.count(i) > 1), None)
    if duplicate:
        raise ContentError(path, "topics", f"intent {duplicate!r} is used by two topics")

    raw_messages = require_mapping(path, data, "messages")
    messages = {}
    for key in MESSAGES:
        text = require_text(path, raw_messages, key, "messages.")
        _check_placeholders(path, f"messages.{key}", text, PLACEHOLDERS | EXTRA_PLACEHOLDERS.get(key, set()))
        messages[key] = text

    raw_details = require_mapping(path, data, "clinic_details")
    if set(raw_details) != set(CLINIC_DETAILS):
        raise ContentError(path, "clinic_details", f"must word exactly {', '.join(CLINIC_DETAILS)}")
    clinic_details = {}
    for key in CLINIC_DETAILS:
        where = f"clinic_details.{key}"
        entry = require_mapping(path, raw_details, key, "clinic_details.")
        clinic_details[key] = {}
        for case, allowed in (("set", PLACEHOLDERS | {"value"}), ("not_set", PLACEHOLDERS)):
            text = require_text(path, entry, case, f"{where}.")
            _check_placeholders(path, f"{where}.{case}", text, allowed)
            clinic_details[key][case] = text
        if "{value}" not in clinic_details[key]["set"]:
            raise ContentError(path, f"{where}.set", "must show the clinic's own words as {value}")
    return Knowledge(
        doctor_recommendation=doctor,
        condition_names=names,
        topics=topics,
        messages=messages,
        clinic_details=clinic_details,
    )


@lru_cache(maxsize=1)
def knowledge() -> Knowledge:
    """The knowledge of this deployment, loaded once per process."""
    return load_knowledge()


def __getattr__(name: str) -> Any:
    """``CONDITIONS``: the condition ids content/knowledge.yml names, read when first asked."""
    if name == "CONDITIONS":
        return tuple(knowledge().condition_names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
