"""Action classes run the way the action server runs them, on fixture trackers."""
from __future__ import annotations

import asyncio

import pytest

from actions import actions
from actions.clinic import clinic
from actions.knowledge import CONDITIONS, TOPICS, knowledge

KB = knowledge()
DOCTOR = KB.doctor_recommendation


def run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def slots(events):
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def last_text(dispatcher) -> str:
    return dispatcher.messages[-1]["text"]


@pytest.mark.parametrize("condition", [None, *CONDITIONS])
@pytest.mark.parametrize("topic_id", TOPICS)
def test_every_topic_and_condition_ends_with_the_doctor_recommendation(make_tracker, dispatcher, topic_id, condition):
    topic = KB.topics[topic_id]
    tracker = make_tracker("tell me please", topic.intent, condition=condition)
    events = run(actions.ActionAnswer(), dispatcher, tracker)

    text = last_text(dispatcher)
    assert text.endswith(DOCTOR), text[-200:]
    assert text.count(DOCTOR) == 1
    assert topic.answer in text
    specific = topic.by_condition.get(condition or "")
    if specific:
        assert specific in text
    assert slots(events)["topic"] == topic_id
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert titles[: len(topic.next)] == [KB.topics[t].title for t in topic.next]


def test_condition_paragraphs_differ_between_conditions(make_tracker):
    texts = set()
    for condition in CONDITIONS:
        dispatcher = actions.CollectingDispatcher()
        run(actions.ActionAnswer(), dispatcher, make_tracker("how does a session go", "ask_procedure", condition=condition))
        texts.add(last_text(dispatcher))
    assert len(texts) == len(CONDITIONS)


def test_a_bare_condition_keeps_the_last_topic(make_tracker, dispatcher):
    tracker = make_tracker(
        "what about for heel spurs?",
        "inform_condition",
        [{"entity": "condition", "value": "heel_spur"}],
        condition="heel_spur",
        topic="side_effects",
    )
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    assert slots(events)["topic"] == "side_effects"
    assert KB.topics["side_effects"].by_condition["heel_spur"] in last_text(dispatcher)


def test_a_bare_condition_without_a_topic_explains_the_condition(make_tracker, dispatcher):
    tracker = make_tracker("metatarsalgia", "inform_condition", condition="metatarsalgia")
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    assert slots(events)["topic"] == "condition_info"
    assert KB.topics["condition_info"].by_condition["metatarsalgia"] in last_text(dispatcher)


def test_yes_answers_the_offered_topic(make_tracker, dispatcher):
    first = actions.CollectingDispatcher()
    offered = slots(run(actions.ActionAnswer(), first, make_tracker("what is it", "ask_what_is_fascia_massage")))["offered_topic"]
    assert offered == KB.topics["what_is_fascia_massage"].next[0]
    assert KB.topics[offered].title.lower() in last_text(first).lower()

    events = run(actions.ActionFollowUp(), dispatcher, make_tracker("yes please", "affirm", offered_topic=offered))
    assert slots(events)["topic"] == offered
    assert last_text(dispatcher).endswith(DOCTOR)


def test_no_to_the_offer_asks_what_else(make_tracker, dispatcher):
    events = run(actions.ActionFollowUp(), dispatcher, make_tracker("no thanks", "deny", offered_topic="side_effects"))
    assert KB.messages["declined_offer"].split("{")[0][:30] in last_text(dispatcher)
    assert slots(events)["offered_topic"] is None
    assert dispatcher.messages[-1]["buttons"]


def test_yes_with_nothing_offered(make_tracker, dispatcher):
    run(actions.ActionFollowUp(), dispatcher, make_tracker("yes", "affirm"))
    assert KB.messages["nothing_offered"].split("{")[0][:30] in last_text(dispatcher)


@pytest.mark.parametrize(
    "action, key",
    [
        (actions.ActionGreet(), "greet"),
        (actions.ActionGoodbye(), "goodbye"),
        (actions.ActionThank(), "thank"),
        (actions.ActionBotChallenge(), "bot_challenge"),
        (actions.ActionOutOfScope(), "out_of_scope"),
        (actions.ActionBooking(), "booking"),
        (actions.ActionFallback(), "fallback"),
    ],
)
def test_message_actions_fill_in_the_clinic(make_tracker, dispatcher, action, key):
    run(action, dispatcher, make_tracker("hi", key))
    text = last_text(dispatcher)
    assert "{" not in text and "}" not in text
    expected = KB.messages[key].format(**clinic().placeholders())
    assert text == expected


def test_booking_gives_every_contact_detail(make_tracker, dispatcher):
    run(actions.ActionBooking(), dispatcher, make_tracker("can i book", "ask_booking"))
    text = last_text(dispatcher)
    for value in (clinic().name, clinic().phone, clinic().email, clinic().booking_url):
        assert value in text


def test_greeting_offers_the_topics_and_a_disclaimer(make_tracker, dispatcher):
    run(actions.ActionGreet(), dispatcher, make_tracker("hi", "greet"))
    assert len(dispatcher.messages[-1]["buttons"]) >= 4
    text = last_text(dispatcher).lower()
    assert "not replace" in text and "doctor" in text


def test_red_flag_comes_first_and_massage_instructions_are_withheld(make_tracker, dispatcher):
    tracker = make_tracker("how do i massage it? my foot went numb and my toes look blue", "ask_self_massage")
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert clinic().emergency_number in text.split("\n\n")[0] or "doctor" in text.split("\n\n")[0].lower()
    assert KB.topics["self_massage"].answer not in text
    assert text.endswith(DOCTOR)
    assert slots(events)["red_flags"]


def test_red_flag_in_a_greeting_is_not_ignored(make_tracker, dispatcher):
    events = run(actions.ActionGreet(), dispatcher, make_tracker("hi, i heard a pop in my heel and now i can't walk on it", "greet"))
    assert slots(events)["red_flags"]
    assert last_text(dispatcher).endswith(DOCTOR)
    assert not last_text(dispatcher).startswith(KB.messages["greet"][:20])


def test_negated_warning_sign_gets_the_normal_answer(make_tracker, dispatcher):
    events = run(actions.ActionAnswer(), dispatcher, make_tracker("no numbness or tingling, how does a session go", "ask_procedure"))
    assert "red_flags" not in slots(events)
    assert last_text(dispatcher).startswith(KB.topics["procedure"].answer)


def test_contraindication_names_the_precaution(make_tracker, dispatcher):
    events = run(actions.ActionAnswer(), dispatcher, make_tracker("is it safe if i'm on warfarin?", "ask_safety"))
    assert slots(events)["contraindications"] == ["anticoagulants"]
    text = last_text(dispatcher)
    assert text.endswith(DOCTOR)
    assert KB.topics["safety"].answer in text
