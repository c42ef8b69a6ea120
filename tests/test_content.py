"""knowledge.yml and clinic.yml are checked on load, with errors naming file and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from footcare_content.clinic import CLINIC_DETAILS, CLINIC_FILE, REGIONS, load_clinic
from footcare_content.files import ContentError
from footcare_content.knowledge import CORE_WORDS, KNOWLEDGE_FILE, NAMED_TOPICS, load_knowledge
from footnlp.lexicon import condition_ids
from footnlp.topics import read_topics

FORBIDDEN = re.compile(r"\b(proven|cures?|cured|guarantee[sd]?|eliminates?|miracle|100 ?%)\b", re.I)


def write(tmp_path: Path, name: str, data) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def knowledge_data():
    return yaml.safe_load(KNOWLEDGE_FILE.read_text())


@pytest.fixture
def clinic_data():
    return yaml.safe_load(CLINIC_FILE.read_text())


def test_shipped_knowledge_loads_with_every_topic():
    kb = load_knowledge()
    assert list(kb.topics) == list(read_topics(KNOWLEDGE_FILE))
    assert {t: kb.topics[t].intent for t in kb.topics} == read_topics(KNOWLEDGE_FILE)
    assert set(NAMED_TOPICS) <= set(kb.topics)
    assert list(kb.condition_names) == list(condition_ids())


def test_shipped_answers_never_overclaim():
    kb = load_knowledge()
    texts = [kb.doctor_recommendation, *kb.messages.values()]
    texts += [text for wording in kb.clinic_details.values() for text in wording.values()]
    for topic in kb.topics.values():
        texts += [topic.answer, topic.details, *topic.by_condition.values()]
    for text in texts:
        assert not FORBIDDEN.search(text), FORBIDDEN.search(text).group(0) + " in: " + text[:120]


def test_no_answer_text_in_domain():
    domain = yaml.safe_load((KNOWLEDGE_FILE.parent.parent / "domain.yml").read_text())
    assert not domain.get("responses"), "answers belong in content/knowledge.yml"


@pytest.mark.parametrize(
    "mutate, key",
    [
        (lambda d: d["topics"].pop("side_effects"), "topics.side_effects"),
        (lambda d: d["topics"]["procedure"].update(answer=""), "topics.procedure.answer"),
        (
            lambda d: d["topics"]["procedure"]["by_condition"].update(flat_feet="x"),
            "topics.procedure.by_condition.flat_feet",
        ),
        (lambda d: d["topics"]["benefits"].update(next=["nonsense"]), "topics.benefits.next"),
        (lambda d: d["topics"]["benefits"].update(withhold_on_red_flag="yes"), "topics.benefits.withhold_on_red_flag"),
        (lambda d: d["messages"].update(booking="Call {fax}"), "messages.booking"),
        (lambda d: d["messages"].pop("greet"), "messages.greet"),
        (lambda d: d.update(doctor_recommendation="Have a nice day."), "doctor_recommendation"),
        (lambda d: d["conditions"].pop("heel_spur"), "topics.what_is_fascia_massage.by_condition.heel_spur"),
        (lambda d: d["conditions"].update(bunion=None), "conditions.bunion.name"),
        (lambda d: d["topics"]["benefits"].update(intent="ask_procedure"), "topics"),
        (lambda d: d["topics"]["benefits"].update(answer="word " * (CORE_WORDS + 1)), "topics.benefits.answer"),
        (
            lambda d: d["topics"]["procedure"]["by_condition"].update(heel_spur="word " * (CORE_WORDS + 1)),
            "topics.procedure.by_condition.heel_spur",
        ),
        (lambda d: d["topics"]["cost"].update(details=["a", "list"]), "topics.cost.details"),
        (lambda d: d["topics"]["cost"].update(answer="It costs {fee}."), "topics.cost.answer"),
        (lambda d: d["clinic_details"].pop("price"), "clinic_details"),
        (lambda d: d["clinic_details"]["price"].update(set="We have prices."), "clinic_details.price.set"),
        (lambda d: d["clinic_details"]["insurance"].update(not_set="Ask {value}."), "clinic_details.insurance.not_set"),
        (lambda d: d["messages"].pop("more_button"), "messages.more_button"),
    ],
)
def test_knowledge_errors_name_file_and_key(tmp_path, knowledge_data, mutate, key):
    mutate(knowledge_data)
    path = write(tmp_path, "knowledge.yml", knowledge_data)
    with pytest.raises(ContentError) as error:
        load_knowledge(path)
    assert error.value.key == key
    assert str(path) in str(error.value) and key in str(error.value)


@pytest.mark.parametrize("text, problem", [("topics: [", "not valid YAML"), ("- a list", "mapping")])
def test_broken_knowledge_file(tmp_path, text, problem):
    with pytest.raises(ContentError, match=problem):
        load_knowledge(write(tmp_path, "knowledge.yml", text))


def test_missing_knowledge_file(tmp_path):
    with pytest.raises(ContentError, match="file not found"):
        load_knowledge(tmp_path / "nope.yml")


def test_shipped_clinic_loads():
    clinic = load_clinic()
    assert clinic.name and clinic.phone and clinic.email and clinic.booking_url and clinic.emergency_number
    assert clinic.region in REGIONS and clinic.emergency_number == REGIONS[clinic.region].emergency_number


@pytest.mark.parametrize("region, number", [("UK", "999"), ("US", "911"), ("EU", "112")])
def test_the_region_gives_the_emergency_number_and_the_services(tmp_path, clinic_data, region, number):
    clinic_data.pop("emergency_number", None)
    clinic_data["region"] = region
    clinic = load_clinic(write(tmp_path, "clinic.yml", clinic_data))
    assert clinic.emergency_number == number
    places = clinic.placeholders()
    assert places["emergency_number"] == number
    assert {"doctor", "urgent_care", "out_of_hours"} <= set(places)
    clinic_data["emergency_number"] = number  # the same number, written out, is fine
    assert load_clinic(write(tmp_path, "clinic.yml", clinic_data)).emergency_number == number


@pytest.mark.parametrize(
    "change, key",
    [
        ({"phone": ""}, "phone"),
        ({"phone": "call us"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"booking_url": "example.com/book"}, "booking_url"),
        ({"emergency_number": "ask reception"}, "emergency_number"),
        ({"region": "UK", "emergency_number": "112"}, "emergency_number"),  # not the UK's number: no mix
        ({"region": "Mars"}, "region"),
        ({"region": ""}, "region"),
        ({"fax": "123"}, "fax"),
        ({"address": ["a", "b"]}, "address"),
        ({"price": 60}, "price"),
        ({"insurance": "ask {us}"}, "insurance"),
    ],
)
def test_clinic_errors_name_file_and_key(tmp_path, clinic_data, change, key):
    clinic_data.update(change)
    path = write(tmp_path, "clinic.yml", clinic_data)
    with pytest.raises(ContentError) as error:
        load_clinic(path)
    assert error.value.key == key and str(path) in str(error.value)


def test_every_topic_has_a_short_core_and_the_new_topics_have_details():
    kb = load_knowledge()
    for topic in kb.topics.values():
        assert len(topic.answer.split()) <= CORE_WORDS, topic.id
        assert topic.details, f"{topic.id} has no details for 'Tell me more'"


def test_clinic_details_are_optional_and_kept_in_the_clinics_words(tmp_path, clinic_data):
    for key in CLINIC_DETAILS:
        clinic_data.pop(key, None)
    assert load_clinic(write(tmp_path, "clinic.yml", clinic_data)).details == {key: "" for key in CLINIC_DETAILS}
    clinic_data.update(price="  60 euros\n for one session ", session_length="about 45 minutes")
    details = load_clinic(write(tmp_path, "clinic.yml", clinic_data)).details
    assert details["price"] == "60 euros for one session" and details["session_length"] == "about 45 minutes"


def test_a_clinic_detail_is_worded_whether_set_or_not(tmp_path, clinic_data):
    kb = load_knowledge()
    unset = kb.clinic_lines(load_clinic())
    assert all("{" not in line for line in unset.values())
    for key in ("session_length", "price", "insurance"):  # said so, with the contact
        assert "has not yet" in unset[key] and clinic_data["phone"] in unset[key], key
    clinic_data.update({key: "as agreed" for key in CLINIC_DETAILS})
    lines = kb.clinic_lines(load_clinic(write(tmp_path, "clinic.yml", clinic_data)))
    assert all("as agreed" in line and "has not yet" not in line for line in lines.values())
