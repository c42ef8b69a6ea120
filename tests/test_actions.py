"""Action classes run the way the action server runs them, on fixture trackers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from actions import actions, dialogue, safety
from actions.dialogue import shown
from footcare_content.clinic import CLINIC_DETAILS, clinic
from footcare_content.knowledge import knowledge

KB = knowledge()
SAFETY = safety.texts()
CONDITIONS = tuple(KB.condition_names)
TOPICS = tuple(KB.topics)
DOCTOR = KB.doctor_recommendation
MORE = KB.messages["more_button"]
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
    specific = topic.by_condition.get(condition or "")
    # the core answer, unless the condition's paragraph replaces it (the list of conditions)
    assert (shown(topic.answer) in text) != bool(specific and topic.condition_replaces_answer)
    assert shown(topic.details) not in text  # the details wait for "Tell me more"
    if specific:
        assert text.startswith(shown(specific))  # the condition's paragraph first
    else:
        assert text.startswith(shown(topic.answer))
    assert "{" not in text and "}" not in text
    assert slots(events)["topic"] == topic_id
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert titles[: len(topic.next)] == [KB.topics[t].title for t in topic.next]
    assert (MORE in titles) == bool(topic.details) and titles[-1] == "Book / contact"


def test_condition_paragraphs_differ_between_conditions(make_tracker):
    texts = set()
    for condition in CONDITIONS:
        dispatcher = actions.CollectingDispatcher()
        run(
            actions.ActionAnswer(),
            dispatcher,
            make_tracker("how does a session go", "ask_procedure", condition=condition),
        )
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
        "metatarsalgia",
        "inform_condition",
        [{"entity": "condition", "value": "metatarsalgia"}],
        condition="metatarsalgia",
    )
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    assert slots(events)["topic"] == "condition_info"
    text = last_text(dispatcher)
    assert text.startswith("Thanks, I'll keep in mind that you have metatarsalgia.")
    assert KB.topics["condition_info"].by_condition["metatarsalgia"] in text


def test_yes_answers_the_offered_topic(make_tracker, dispatcher):
    first = actions.CollectingDispatcher()
    offered = slots(run(actions.ActionAnswer(), first, make_tracker("what is it", "ask_what_is_fascia_massage")))[
        "offered_topic"
    ]
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


def test_not_sure_with_no_question_open_names_the_safer_choice(make_tracker, dispatcher):
    # typed after the advice: no topic is guessed, and the reminder of the advice comes first
    tracker = make_tracker("not sure", "not_sure", topic="safety", red_flags=["calf_clot"], urgency="same_day")
    events = run(actions.ActionNotSure(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert text.startswith("Reminder:") and KB.messages["not_sure"].split(".")[0] in text
    assert "topic" not in slots(events) and dispatcher.messages[-1]["buttons"]


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


@pytest.mark.parametrize("action", [cls() for cls in actions.MessageAction.__subclasses__()], ids=lambda a: a.key)
def test_a_message_that_offers_topics_below_comes_with_them(make_tracker, dispatcher, action):
    run(action, dispatcher, make_tracker("hi", action.key))
    if "below" in last_text(dispatcher):  # "... or pick a topic below."
        assert len(dispatcher.messages[-1].get("buttons") or []) >= 3, action.key


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
    events = run(
        actions.ActionGreet(),
        dispatcher,
        make_tracker("hi, i heard a pop in my heel and now i can't walk on it", "greet"),
    )
    assert slots(events)["red_flags"]
    assert last_text(dispatcher).endswith(DOCTOR)
    assert not last_text(dispatcher).startswith(KB.messages["greet"][:20])


def test_negated_warning_sign_gets_the_normal_answer(make_tracker, dispatcher):
    events = run(
        actions.ActionAnswer(),
        dispatcher,
        make_tracker("no numbness or tingling, how does a session go", "ask_procedure"),
    )
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
    events = run(
        actions.ActionAnswer(),
        first,
        make_tracker("my left calf is swollen and hot since my flight", "describe_symptoms"),
    )
    remembered = slots(events)
    assert remembered["red_flags"] == ["calf_clot"] and remembered["urgency"] == "same_day"

    second = actions.CollectingDispatcher()
    tracker = make_tracker(
        "how do I massage it then?",
        "ask_self_massage",
        red_flags=remembered["red_flags"],
        urgency=remembered["urgency"],
    )
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
    tracker = make_tracker(
        "how do I do self massage at home?", "ask_self_massage", contraindications=["diabetes_neuropathy"]
    )
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


# ------------------------------------------------------------- tell me more


def test_a_condition_paragraph_that_replaces_the_answer_keeps_it_for_tell_me_more(make_tracker, dispatcher):
    """With a condition named, the benefits answer is that condition's paragraph alone (a short
    first reply); "Tell me more" then gives the general answer, then the details."""
    topic = KB.topics["benefits"]
    run(
        actions.ActionAnswer(),
        dispatcher,
        make_tracker("does massage help heel spurs?", "ask_benefits", condition="heel_spur"),
    )
    first = last_text(dispatcher)
    assert shown(topic.by_condition["heel_spur"]) in first and shown(topic.answer) not in first
    run(
        actions.ActionTellMore(),
        dispatcher,
        make_tracker("tell me more", "ask_more", topic="benefits", condition="heel_spur"),
    )
    more = last_text(dispatcher)
    assert more.index(shown(topic.answer)) < more.index(shown(topic.details))


def buttons(dispatcher) -> list[dict]:
    return dispatcher.messages[-1].get("buttons") or []


@pytest.mark.parametrize("topic_id", [t for t in TOPICS if KB.topics[t].details])
def test_tell_me_more_gives_the_details_of_the_last_topic(make_tracker, dispatcher, topic_id):
    topic = KB.topics[topic_id]
    events = run(
        actions.ActionTellMore(),
        dispatcher,
        make_tracker("tell me more", "ask_more", topic=topic_id, condition="heel_spur"),
    )
    text = last_text(dispatcher)
    assert text.startswith(shown(KB.details(topic_id, "heel_spur"))) and text.endswith(DOCTOR)
    assert shown(topic.details) in text
    # the general answer comes again only where the condition's paragraph replaced it
    assert (shown(topic.answer) in text) == topic.answer_in_more
    assert slots(events)["topic"] == topic_id
    assert slots(events)["offered_topic"] == topic.next[0]  # then the next topic is offered, as after an answer
    titles = [b["title"] for b in buttons(dispatcher)]
    assert MORE not in titles and titles[0] == KB.topics[topic.next[0]].title


def test_the_button_under_an_answer_asks_for_its_details(make_tracker, dispatcher):
    run(actions.ActionAnswer(), dispatcher, make_tracker("how do i prepare", "ask_preparation"))
    more = next(b for b in buttons(dispatcher) if b["title"] == MORE)
    assert more["payload"] == "/ask_more"


def test_tell_me_more_with_nothing_answered_says_so(make_tracker, dispatcher):
    run(actions.ActionTellMore(), dispatcher, make_tracker("more", "ask_more"))
    assert last_text(dispatcher) == KB.messages["no_more"].format(topic="that")
    assert buttons(dispatcher)  # the menu of topics


def test_tell_me_more_about_another_topic_answers_that_topic(make_tracker, dispatcher):
    tracker = make_tracker("tell me more about the cost", "ask_more", topic="procedure")
    tracker.latest_message["footcare_topics"] = ["ask_cost"]
    events = run(actions.ActionTellMore(), dispatcher, tracker)
    assert slots(events)["topic"] == "cost"
    assert shown(KB.topics["cost"].answer) in last_text(dispatcher)


def test_tell_me_more_holds_back_massage_steps_while_a_warning_sign_says_so(make_tracker, dispatcher):
    tracker = make_tracker("more", "ask_more", topic="self_massage", red_flags=["calf_clot"], urgency="same_day")
    run(actions.ActionTellMore(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert text.startswith("Reminder:") and KB.messages["withheld"] in text
    assert shown(KB.topics["self_massage"].details) not in text


def test_is_it_safe_while_a_warning_sign_holds_gets_no_reassurance(make_tracker, dispatcher):
    # "usually low risk" next to "do not massage it until a doctor has seen it" would contradict the advice
    tracker = make_tracker("can I massage it?", "ask_safety", red_flags=["sudden_injury"], urgency="same_day")
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert KB.messages["withheld"] in text
    assert shown(KB.topics["safety"].answer).split("\n")[0] not in text


def test_a_conditions_paragraph_is_held_back_while_a_warning_sign_holds(make_tracker, dispatcher):
    # "massage of the sole and calf may help" next to "get the calf checked today, do not massage it"
    tracker = make_tracker(
        "my calf has ached since a long car journey, is that normal with plantar fasciitis?",
        "ask_condition_info",
        condition="plantar_fasciitis",
        red_flags=["calf_clot"],
        urgency="same_day",
    )
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert KB.messages["withheld"] in text
    assert KB.topics["condition_info"].by_condition["plantar_fasciitis"][:40] not in text


def test_a_question_outside_the_topics_while_a_warning_holds_points_back_to_the_advice(make_tracker, dispatcher):
    tracker = make_tracker("can I still run the race?", "out_of_scope", red_flags=["sudden_injury"], urgency="same_day")
    run(actions.ActionOutOfScope(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert text.startswith("Reminder:") and KB.messages["out_of_scope_while_warning"] in text
    assert KB.messages["out_of_scope"][:30] not in text


def test_an_unclear_short_question_after_a_warning_signs_advice_points_back_to_it(make_tracker, dispatcher):
    tracker = make_tracker("is that serious?", "nlu_fallback", red_flags=["numbness"], urgency="soon", topic="benefits")
    tracker.latest_message["footcare_suggestions"] = ["ask_condition_info", "ask_safety"]
    run(actions.ActionFallback(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert KB.messages["out_of_scope_while_warning"] in text and KB.messages["did_you_mean"] not in text
    assert text.endswith(DOCTOR)


def test_a_greeting_line_comes_before_a_precaution(make_tracker, dispatcher):
    tracker = make_tracker("hello, I'm on blood thinners. Is massage safe?", "ask_safety")
    tracker.latest_message["footcare_greeting"] = True
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    hello = shown(KB.messages["hello_line"])
    assert text.startswith(hello) and SAFETY.contraindications["anticoagulants"].text in text


def test_did_you_mean_suggests_no_topic_held_back(make_tracker, dispatcher):
    # "can I still run the race?" after a snap in the heel: no "Did you mean" without a choice
    tracker = make_tracker(
        "do you think I could still run the race next month",
        "nlu_fallback",
        red_flags=["sudden_injury"],
        urgency="same_day",
        topic=None,
    )
    tracker.latest_message["footcare_suggestions"] = ["ask_long_term_results", "ask_benefits"]
    run(actions.ActionFallback(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert KB.messages["did_you_mean"] not in text and KB.messages["fallback"] in text


def test_after_a_session_is_held_back_while_a_warning_sign_holds(make_tracker, dispatcher):
    # "walking is fine" and "mild soreness is normal" would contradict "get the hot toe checked today"
    tracker = make_tracker("what about ice?", "ask_aftercare", red_flags=["hot_red_swollen_foot"], urgency="same_day")
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert KB.messages["withheld"] in text and shown(KB.topics["aftercare"].answer) not in text


@pytest.mark.parametrize(
    "text, action, last, goes_on",
    [
        ("what should we do", actions.ActionOutOfScope(), "children_older_adults", True),
        ("and what else?", actions.ActionFallback(), "self_massage", True),
        # nothing answered before, or a question about something else: out of scope as before
        ("what should we do", actions.ActionOutOfScope(), None, False),
        ("what should we do about the neighbours", actions.ActionOutOfScope(), "self_massage", False),
    ],
)
def test_a_follow_up_that_names_nothing_goes_on_with_the_last_topic(
    make_tracker, dispatcher, text, action, last, goes_on
):
    intent = "out_of_scope" if isinstance(action, actions.ActionOutOfScope) else "nlu_fallback"
    run(action, dispatcher, make_tracker(text, intent, topic=last))
    said = last_text(dispatcher)
    if goes_on:
        assert shown(KB.details(last)).split("\n\n")[0] in said
    else:
        assert KB.messages["out_of_scope"][:30] in said


def test_an_answer_held_back_offers_no_details(make_tracker, dispatcher):
    tracker = make_tracker("how do i massage it", "ask_self_massage", red_flags=["calf_clot"], urgency="same_day")
    run(actions.ActionAnswer(), dispatcher, tracker)
    assert MORE not in [b["title"] for b in buttons(dispatcher)]


def test_yes_after_the_details_takes_the_offered_topic(make_tracker, dispatcher):
    first = actions.CollectingDispatcher()
    offered = slots(run(actions.ActionTellMore(), first, make_tracker("go on", "ask_more", topic="side_effects")))[
        "offered_topic"
    ]
    events = run(actions.ActionFollowUp(), dispatcher, make_tracker("yes", "affirm", offered_topic=offered))
    assert slots(events)["topic"] == offered == KB.topics["side_effects"].next[0]


# ------------------------------------------------------------- the topics added for what patients ask


def answer(make_tracker, intent: str, text: str = "tell me", **slot_values) -> str:
    dispatcher = actions.CollectingDispatcher()
    run(actions.ActionAnswer(), dispatcher, make_tracker(text, intent, **slot_values))
    return last_text(dispatcher)


def set_details(monkeypatch, **values):
    """The clinic of this deployment with these clinic details set (the others empty)."""
    changed = replace(clinic(), details={key: values.get(key, "") for key in CLINIC_DETAILS})
    monkeypatch.setattr(dialogue, "clinic", lambda: changed)
    return changed


def test_session_length_gives_the_articles_minimum_and_says_when_the_clinic_has_not_set_its_own(make_tracker):
    text = answer(make_tracker, "ask_session_length", "how long is a session and how often should i come")
    assert "at least fifteen minutes" in text
    assert KB.clinic_details["session_length"]["not_set"].format(**clinic().placeholders()) in text
    assert KB.clinic_details["session_frequency"]["not_set"].format(**clinic().placeholders()) in text
    assert clinic().phone in text and text.endswith(DOCTOR)


def test_session_length_uses_the_clinics_own_values(make_tracker, monkeypatch):
    set_details(monkeypatch, session_length="about 45 minutes", session_frequency="once a week at first")
    text = answer(make_tracker, "ask_session_length")
    assert f"At {clinic().name}, a session takes about 45 minutes." in text
    assert "How often to come: once a week at first." in text
    assert "has not yet said" not in text


def test_cost_says_the_clinic_has_not_set_its_prices_and_gives_the_contact(make_tracker):
    text = answer(make_tracker, "ask_cost", "how much is it, does insurance pay?")
    assert "has not yet put its prices here" in text and clinic().phone in text and clinic().email in text
    assert "insurer" in text and text.endswith(DOCTOR)


def test_cost_gives_the_clinics_price_and_insurance(make_tracker, monkeypatch):
    set_details(monkeypatch, price="60 euros for one session", insurance="some private insurers pay for it")
    text = answer(make_tracker, "ask_cost")
    assert f"A session at {clinic().name} costs 60 euros for one session." in text
    assert "Insurance: some private insurers pay for it." in text and "has not yet" not in text


def test_aftercare_covers_walking_exercise_driving_and_ice_or_heat(make_tracker):
    text = (answer(make_tracker, "ask_aftercare") + shown(KB.topics["aftercare"].details)).lower()
    for word in ("walking", "exercise", "drive", "ice", "heat"):
        assert word in text, word


def test_other_treatments_names_each_one_neutrally_and_sends_to_the_doctor(make_tracker):
    text = answer(make_tracker, "ask_other_treatments", "what else is there, splints, insoles, shock wave?")
    for treatment in ("stretching", "night splints", "insoles", "shock-wave", "steroid injections", "surgery"):
        assert treatment in text, treatment
    assert "Ask your doctor which fits you." in text
    for praise in ("best", "better than", "most effective", "recommend"):
        assert praise not in text.lower(), praise


def test_tools_names_guns_massagers_and_spiky_balls_and_when_to_stop(make_tracker):
    text = answer(make_tracker, "ask_tools", "is a massage gun or a spiky ball better?").lower()
    for tool in ("massage guns", "foot massagers", "spiky balls", "foam rollers"):
        assert tool in text, tool
    assert "none is known to be better" in text and "stop" in text


def test_children_and_older_adults_are_answered_apart(make_tracker):
    text = answer(make_tracker, "ask_children_older_adults", "can my 12 year old have it? and my gran?")
    assert "Children and teenagers:" in text and "Older adults:" in text and "see a doctor first" in text


def test_pregnancy_has_its_own_answer_and_is_remembered(make_tracker):
    dispatcher = actions.CollectingDispatcher()
    events = run(
        actions.ActionAnswer(), dispatcher, make_tracker("i'm pregnant, can i have a foot massage?", "ask_pregnancy")
    )
    text = last_text(dispatcher)
    assert shown(KB.topics["pregnancy"].answer) in text and "midwife" in text
    # the pregnancy answer says what its precaution says: once is enough
    assert SAFETY.contraindications["pregnancy"].text not in text
    assert "pregnancy" in slots(events)["contraindications"]
    assert text.endswith(DOCTOR)


def test_a_precaution_told_with_another_question_is_still_said(make_tracker):
    dispatcher = actions.CollectingDispatcher()
    run(actions.ActionAnswer(), dispatcher, make_tracker("i'm pregnant, what should I wear?", "ask_preparation"))
    assert SAFETY.contraindications["pregnancy"].text in last_text(dispatcher)


def test_finding_a_therapist_gives_the_clinics_contact(make_tracker):
    text = answer(make_tracker, "ask_find_therapist", "how do i find a qualified therapist")
    assert "registered or licensed" in text and clinic().phone in text and text.endswith(DOCTOR)


def test_telegram_shows_a_list_line_by_line_and_the_tell_me_more_button(make_tracker, dispatcher):
    from channels.telegram import inline_keyboard, split_text

    run(actions.ActionAnswer(), dispatcher, make_tracker("how do i prepare", "ask_preparation"))
    reply = dispatcher.messages[-1]
    listed = next(p for p in shown(KB.topics["preparation"].answer).split("\n\n") if "\n•" in p)
    assert listed in "\n".join(split_text(reply["text"]))  # plain text: each item on its own line
    keys = [key for row in inline_keyboard(reply["buttons"])["inline_keyboard"] for key in row]
    assert {"text": MORE, "callback_data": "/ask_more"} in keys


@pytest.mark.parametrize(
    "last, text, intent, expected",
    [
        # refers back to the side effects: their details say how long soreness lasts
        ("side_effects", "how long does that last?", "ask_session_length", "side_effects_details"),
        ("side_effects", "and if it doesn't go away?", "ask_long_term_results", "side_effects_details"),
        # after the self-massage steps, "how often" asks how often to do them, not how often to come
        ("self_massage", "and how often should I do it", "ask_session_length", "self_massage_details"),
        # refers back to how a session goes: how long one takes
        ("procedure", "how long for?", "ask_long_term_results", "session_length"),
        # names what it asks: taken as asked
        ("side_effects", "how long does a session last?", "ask_session_length", "session_length"),
        ("procedure", "what results can I expect in the long run?", "ask_long_term_results", "long_term_results"),
        # the same words after a topic without such a reading: taken as asked
        ("benefits", "how long does that last?", "ask_session_length", "session_length"),
    ],
)
def test_a_short_follow_up_is_read_in_the_context_of_the_answer_before_it(
    make_tracker, dispatcher, last, text, intent, expected
):
    events = run(actions.ActionAnswer(), dispatcher, make_tracker(text, intent, topic=last))
    said = "\n\n".join(m["text"] for m in dispatcher.messages)
    if expected.endswith("_details"):
        topic = KB.topics[expected.removesuffix("_details")]
        assert shown(topic.details).split("\n\n")[0].strip() in said
    else:
        assert KB.answer(expected)[:40] in said
        assert slots(events).get("topic") == expected


def test_short_follow_ups_name_known_topics(tmp_path):
    from footcare_content.files import ContentError
    from footcare_content.knowledge import KNOWLEDGE_FILE, load_knowledge

    text = KNOWLEDGE_FILE.read_text(encoding="utf-8").replace(
        "      session_length: side_effects", "      session_lenght: side_effects"
    )
    broken = tmp_path / "knowledge.yml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError, match="short_follow_ups"):
        load_knowledge(broken)


@pytest.mark.parametrize(
    "text, person",
    [
        ("my 11 year old son has heel pain after football, is massage ok for him?", "child"),
        ("Is fascia massage safe for a 9-year-old?", "child"),
        ("my grandmother is 85 and has sore feet, can she have it?", "older_adult"),
        ("I'm 72, is this ok at my age?", "older_adult"),
        ("My dad is 79 and has heel pain, would massage suit him?", "older_adult"),
        ("the pain is 7 out of 10, is there an age limit?", None),
        # both, or neither named: the answer for both
        ("is it ok for kids and for the elderly?", None),
        ("is there an age limit?", None),
    ],
)
def test_a_question_about_one_person_gets_that_persons_answer(make_tracker, dispatcher, text, person):
    run(actions.ActionAnswer(), dispatcher, make_tracker(text, "ask_children_older_adults"))
    said, topic = last_text(dispatcher), KB.topics["children_older_adults"]
    for key, other in topic.by_person.items():
        assert (shown(other.answer) in said) == (key == person)
    assert (shown(topic.answer) in said) == (person is None)


def test_by_person_is_checked_on_load(tmp_path):
    from footcare_content.files import ContentError
    from footcare_content.knowledge import KNOWLEDGE_FILE, load_knowledge

    text = KNOWLEDGE_FILE.read_text(encoding="utf-8").replace("        ages: [0, 17]", "        ages: [17, 0]")
    broken = tmp_path / "knowledge.yml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError, match=r"by_person\.child\.ages"):
        load_knowledge(broken)


def test_a_message_asking_three_things_gets_two_answers_and_the_third_as_a_button(make_tracker, dispatcher):
    tracker = make_tracker("how do i prepare, what are the side effects, and what does it cost?", "ask_preparation")
    tracker.latest_message["footcare_topics"] = ["ask_preparation", "ask_side_effects", "ask_cost"]
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert shown(KB.topics["preparation"].answer) in text and shown(KB.topics["side_effects"].answer) in text
    assert shown(KB.topics["cost"].answer) not in text
    assert KB.messages["also_asked"].format(topics=KB.topics["cost"].title.lower()) in text
    assert buttons(dispatcher)[0] == {"title": KB.topics["cost"].title, "payload": f"/{KB.topics['cost'].intent}"}
    assert text.endswith(KB.doctor_recommendation)


def test_a_question_about_one_condition_does_not_get_the_list_of_all_four(make_tracker, dispatcher):
    tracker = make_tracker("what are heel spurs?", "ask_condition_info", condition="heel_spur")
    run(actions.ActionAnswer(), dispatcher, tracker)
    text = last_text(dispatcher)
    assert shown(KB.topics["condition_info"].by_condition["heel_spur"]) in text
    assert shown(KB.topics["condition_info"].answer) not in text
    run(actions.ActionAnswer(), dispatcher, make_tracker("which conditions can it help?", "ask_condition_info"))
    assert shown(KB.topics["condition_info"].answer) in last_text(dispatcher)
