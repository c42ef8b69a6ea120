"""Action classes run the way the action server runs them, on fixture trackers."""
from __future__ import annotations

import asyncio

import pytest

from actions import actions, safety
from actions.clinic import clinic
from actions.knowledge import CONDITIONS, TOPICS, knowledge

KB = knowledge()
DOCTOR = KB.doctor_recommendation
EMERGENCY_CLOSING = safety.texts().levels["emergency"].closing


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
    tracker = make_tracker(
        "metatarsalgia", "inform_condition", [{"entity": "condition", "value": "metatarsalgia"}], condition="metatarsalgia"
    )
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    assert slots(events)["topic"] == "condition_info"
    text = last_text(dispatcher)
    assert text.startswith("Thanks, I'll keep in mind that you have metatarsalgia.")
    assert KB.topics["condition_info"].by_condition["metatarsalgia"] in text


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
    assert text.startswith(f"Call {clinic().emergency_number} now.")
    assert KB.topics["self_massage"].answer not in text
    assert KB.messages["withheld"] in text
    # after an emergency, the closing line fits it (not "before you start fascia massage")
    assert text.endswith(EMERGENCY_CLOSING) and DOCTOR not in text
    assert slots(events)["red_flags"] == ["numbness", "cold_pale_blue_foot"]
    assert slots(events)["urgency"] == "emergency"


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


# ----------------------------------------------------- memory across turns


def test_a_red_flag_then_how_do_i_massage_it_holds_back_and_repeats_the_advice(make_tracker):
    first = actions.CollectingDispatcher()
    events = run(actions.ActionAnswer(), first, make_tracker("my left calf is swollen and hot since my flight", "describe_symptoms"))
    remembered = slots(events)
    assert remembered["red_flags"] == ["calf_clot"] and remembered["urgency"] == "same_day"

    second = actions.CollectingDispatcher()
    tracker = make_tracker("how do I massage it then?", "ask_self_massage", red_flags=remembered["red_flags"], urgency=remembered["urgency"])
    events = run(actions.ActionAnswer(), second, tracker)
    text = last_text(second)
    paragraphs = text.split("\n\n")
    assert paragraphs[0].startswith("Reminder:") and "\n" not in paragraphs[0]  # the advice again, in one line
    assert "today" in paragraphs[0] and clinic().services.urgent_care in paragraphs[0]
    assert KB.messages["withheld"] in text
    assert KB.topics["self_massage"].answer not in text and "frozen water bottle" not in text
    assert text.endswith(DOCTOR)
    assert "red_flags" not in slots(events)  # nothing new to store


def test_every_reply_repeats_the_advice_while_it_holds(make_tracker, dispatcher):
    tracker = make_tracker("thanks", "thank", red_flags=["breathless_chest_pain"], urgency="emergency")
    run(actions.ActionThank(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert text.startswith("Reminder:") and f"call {clinic().emergency_number} now" in text
    assert text.endswith(EMERGENCY_CLOSING)


def test_a_contraindication_told_earlier_shapes_the_self_massage_answer(make_tracker, dispatcher):
    tracker = make_tracker("how do I do self massage at home?", "ask_self_massage", contraindications=["diabetes_neuropathy"])
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    # the full answer, frozen bottle and all: a precaution holds nothing back
    assert KB.topics["self_massage"].answer in text and "frozen water bottle" in text
    precaution = safety.texts().contraindications["diabetes_neuropathy"].text
    assert f"- {precaution}" in text and text.index(precaution) < text.index(KB.topics["self_massage"].answer)
    assert len([line for line in text.split("\n") if line.startswith("- ")]) == 1
    assert text.endswith(DOCTOR)


@pytest.mark.parametrize("topic_id", ["procedure", "preparation"])
def test_procedure_and_preparation_answers_carry_the_precautions_too(make_tracker, dispatcher, topic_id):
    tracker = make_tracker("tell me", KB.topics[topic_id].intent, contraindications=["anticoagulants", "pregnancy"])
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    for cid in ("anticoagulants", "pregnancy"):
        assert safety.texts().contraindications[cid].text in text
    assert KB.topics[topic_id].answer in text


def test_other_answers_do_not_repeat_precautions(make_tracker, dispatcher):
    tracker = make_tracker("what are the benefits", "ask_benefits", contraindications=["diabetes_neuropathy"])
    run(actions.ActionAnswer(), dispatcher, tracker)
    assert safety.texts().contraindications["diabetes_neuropathy"].text not in last_text(dispatcher)


@pytest.mark.parametrize(
    "text, flags",
    [
        ("my doctor says it's not a clot, so how do I massage my calf?", ["calf_clot"]),
        ("the GP checked it, it's fine. how do i massage it", ["calf_clot"]),
        ("A&E said it's only a sprain, how do I massage my foot?", ["sudden_injury"]),
    ],
)
def test_a_doctors_all_clear_lifts_the_hold(make_tracker, dispatcher, text, flags):
    tracker = make_tracker(text, "ask_self_massage", red_flags=flags, urgency="same_day")
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    reply = last_text(dispatcher)
    assert reply.startswith(safety.texts().cleared)
    assert KB.topics["self_massage"].answer in reply and KB.messages["withheld"] not in reply
    assert slots(events)["red_flags"] == [] and slots(events)["urgency"] is None


# ------------------------------------------- the doctor line from the findings


@pytest.mark.parametrize(
    "action, text",
    [
        (actions.ActionFallback(), "blorp my heel"),
        (actions.ActionBooking(), "can i book something for my achilles pain"),
        (actions.ActionOutOfScope(), "what's the weather like for my ankle"),
        (actions.ActionGreet(), "hi, i take ibuprofen"),
    ],
)
def test_a_reply_to_a_health_message_points_to_a_doctor_whatever_the_intent(make_tracker, dispatcher, action, text):
    run(action, dispatcher, make_tracker(text, "nlu_fallback"))
    reply = last_text(dispatcher)
    assert reply.endswith(DOCTOR)
    assert reply.count(DOCTOR) == 1


@pytest.mark.parametrize("action", [actions.ActionFallback(), actions.ActionBooking(), actions.ActionOutOfScope()])
def test_a_reply_to_small_talk_has_no_doctor_line(make_tracker, dispatcher, action):
    run(action, dispatcher, make_tracker("qwzx vbnm plok", "nlu_fallback"))
    assert DOCTOR not in last_text(dispatcher)
