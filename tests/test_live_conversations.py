"""Whole conversations through the REST channel of the running servers:
topic answers, follow-ups, red-flag triage and contraindication screening, as a
user sees them."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import yaml

from actions import safety
from actions.dialogue import shown
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge

pytestmark = pytest.mark.model
KB = knowledge()
DOCTOR = KB.doctor_recommendation
EMERGENCY_CLOSING = safety.texts().levels["emergency"].closing


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def texts(replies) -> str:
    return "\n\n".join(r.get("text", "") for r in replies)


def test_condition_is_remembered_across_topics(stack):
    sender = new_sender()
    first = texts(stack.say(sender, "I have metatarsalgia, how does a session go?"))
    assert shown(KB.topics["procedure"].by_condition["metatarsalgia"]) in first
    assert first.endswith(DOCTOR)
    second = texts(stack.say(sender, "and the side effects?"))
    assert shown(KB.topics["side_effects"].answer) in second
    assert shown(KB.topics["side_effects"].by_condition["metatarsalgia"]) in second


def test_follow_up_condition_keeps_the_topic(stack):
    sender = new_sender()
    stack.say(sender, "what are the side effects of fascia massage")
    reply = texts(stack.say(sender, "what about for heel spurs?"))
    assert shown(KB.topics["side_effects"].by_condition["heel_spur"]) in reply
    assert reply.endswith(DOCTOR)


def test_yes_takes_the_offered_topic_and_buttons_come_with_answers(stack):
    sender = new_sender()
    replies = stack.say(sender, "what is fascia massage?")
    offered = KB.topics[KB.topics["what_is_fascia_massage"].next[0]]
    assert replies[-1]["buttons"][0]["payload"] == f"/{offered.intent}"
    reply = texts(stack.say(sender, "yes please"))
    assert offered.answer in reply


def test_button_payload_answers_its_topic(stack):
    reply = texts(stack.say(new_sender(), "/ask_side_effects"))
    assert shown(KB.topics["side_effects"].answer) in reply and reply.endswith(DOCTOR)


@pytest.mark.parametrize(
    "message, level",
    [
        ("how should i prepare? also my foot went numb yesterday and still feels dead", "soon"),
        ("hi, i heard a loud pop in my heel playing football and now i can't put any weight on it", "same_day"),
        ("my left calf is swollen hot and painful since my long flight, can i massage it", "same_day"),
        ("my toes have turned blue and cold", "emergency"),
    ],
)
def test_red_flag_gets_its_levels_advice_first(stack, message, level):
    sender = new_sender()
    replies = stack.say(sender, message)
    text = texts(replies)
    action = safety.texts().levels[level].action.format(**clinic().placeholders())
    assert text.startswith(action)
    assert "massage" in text.lower()
    assert clinic().phone in text
    assert text.endswith(EMERGENCY_CLOSING if level == "emergency" else DOCTOR)
    slots = stack.tracker(sender)["slots"]
    assert slots["red_flags"] and slots["urgency"] == level


def test_a_red_flag_then_a_massage_question_holds_back_and_repeats_the_advice(stack):
    sender = new_sender()
    stack.say(sender, "my left calf is swollen and warm since my flight")
    text = texts(stack.say(sender, "how do I massage it then?"))
    first = text.split("\n\n")[0]
    assert first.startswith("Reminder:") and "\n" not in first
    assert KB.messages["withheld"] in text
    assert "frozen water bottle" not in text
    assert text.endswith(DOCTOR)
    assert stack.tracker(sender)["slots"]["urgency"] == "same_day"


def test_a_contraindication_then_a_self_massage_question_gets_the_answer_and_the_precaution(stack):
    sender = new_sender()
    stack.say(sender, "I have type 2 diabetes")
    text = texts(stack.say(sender, "how can I massage my own feet at home?"))
    assert shown(KB.topics["self_massage"].answer) in text and "frozen water bottle" in text
    assert safety.texts().contraindications["diabetes_neuropathy"].text in text
    assert text.endswith(DOCTOR)


def test_a_red_flag_then_my_doctor_checked_it(stack):
    sender = new_sender()
    stack.say(sender, "my calf is swollen and hot on one side")
    assert stack.tracker(sender)["slots"]["urgency"] == "same_day"
    text = texts(stack.say(sender, "my doctor says it's not a clot"))
    assert text.startswith(safety.texts().cleared)
    slots = stack.tracker(sender)["slots"]
    assert not slots["red_flags"] and slots["urgency"] is None
    text = texts(stack.say(sender, "how do I massage my calf at home?"))
    assert shown(KB.topics["self_massage"].answer) in text and KB.messages["withheld"] not in text


def test_negated_warning_sign_is_answered_normally(stack):
    sender = new_sender()
    text = texts(stack.say(sender, "no numbness or tingling, just heel pain. what should i wear to a session?"))
    assert text.startswith(KB.topics["preparation"].answer[:60])
    assert not stack.tracker(sender)["slots"].get("red_flags")


@pytest.mark.parametrize(
    "message, contraindication",
    [
        ("is it safe if i'm on warfarin?", "anticoagulants"),
        ("i'm pregnant, can i still have a foot massage", "pregnancy"),
        ("im diabetic with some neuropathy, is fascia massage ok for me", "diabetes_neuropathy"),
    ],
)
def test_contraindication_screening(stack, message, contraindication):
    sender = new_sender()
    text = texts(stack.say(sender, message))
    assert "doctor" in text.lower()
    assert text.endswith(DOCTOR)
    assert contraindication in stack.tracker(sender)["slots"]["contraindications"]


def test_booking_gives_the_clinic_contact(stack):
    text = texts(stack.say(new_sender(), "can I book an appointment with a therapist?"))
    for value in (clinic().name, clinic().phone, clinic().email, clinic().booking_url):
        assert value in text


def test_gibberish_gets_the_fallback_with_topics(stack):
    replies = stack.say(new_sender(), "qwzx vbnm plok")
    # the nearest known topics, asked about (no health answer, so no doctor line), and the way to a person
    assert texts(replies) == KB.messages["did_you_mean"]
    topics = {f"/{topic.intent}" for topic in KB.topics.values()}
    payloads = [button["payload"] for button in replies[-1]["buttons"]]
    assert payloads[-1] == "/ask_booking" and 1 <= len(set(payloads[:-1])) == len(payloads) - 1 <= 3
    assert set(payloads[:-1]) <= topics


def test_the_nlu_finds_what_the_safety_check_finds(stack):
    """The action server reuses the findings the NLU pipeline put into the parse
    data; on every red-flag test message and hold-out message the lexicon's
    part must be exactly what the language layer finds in the text itself (the
    classifier's `learned`, `suspected` and `gated` come on top)."""
    import json
    import re
    import urllib.request
    from pathlib import Path

    import yaml

    from footnlp.findings import FINDINGS_KEYS, safety_findings
    from footnlp.pipeline import load_pipeline

    nlp = load_pipeline()
    here = Path(__file__).resolve().parent
    cases = yaml.safe_load((here / "red_flags.yml").read_text(encoding="utf-8"))
    messages = [c["text"] for c in cases["positives"]] + [
        c if isinstance(c, str) else c["text"] for c in cases["negatives"]
    ]
    holdout = yaml.safe_load((here / "nlu_holdout.yml").read_text(encoding="utf-8"))
    for block in holdout["nlu"]:
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                messages.append(re.sub(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))", r"\1", line[2:]))
    assert len(messages) > 250
    differ = []
    for text in messages:
        request = urllib.request.Request(
            f"{stack.url}/model/parse?token={stack.api_token}",
            data=json.dumps({"text": text}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            parsed = json.loads(response.read())
        expected = safety_findings(nlp(text))
        got = {k: v for k, v in (parsed.get("footcare_safety") or {}).items() if k in FINDINGS_KEYS}
        if got != expected:
            differ.append((text, got, expected))
    assert not differ, differ[:5]


@pytest.mark.parametrize("command", ["/restart", "/session_start"])
def test_restart_commands_get_a_fresh_start_not_an_apology(stack, command):
    sender = new_sender()
    stack.say(sender, "i have plantar fasciitis, what is fascia massage?")
    replies = stack.say(sender, command)
    assert texts(replies) == KB.messages["restarted"]
    # the conversation goes on normally afterwards
    assert texts(stack.say(sender, "how should i prepare for a session?")).endswith(DOCTOR)
    if command == "/restart":  # a restart forgets the condition; a new session keeps it
        assert stack.tracker(sender)["slots"].get("condition") is None


# --------------------------------------------------------------- messages that say more than one thing


def first_line(topic_id: str) -> str:
    return KB.topics[topic_id].answer.split("\n")[0]


def test_two_questions_in_one_message_get_both_answers_in_order(stack):
    sender = new_sender()
    reply = texts(stack.say(sender, "how do I prepare and what are the side effects?"))
    assert reply.index(first_line("preparation")) < reply.index(first_line("side_effects"))
    assert reply.endswith(DOCTOR)
    assert stack.tracker(sender)["slots"]["topic"] == "side_effects"


def test_a_greeting_with_a_question_answers_the_question(stack):
    reply = texts(stack.say(new_sender(), "hello! my arch has hurt for weeks, can massage fix that?"))
    assert reply.startswith(KB.messages["hello_line"])
    assert first_line("benefits") in reply
    assert KB.messages["greet"].split("\n")[0] not in reply


def test_a_health_statement_is_acknowledged_and_remembered(stack):
    sender = new_sender()
    reply = texts(stack.say(sender, "I'm diabetic by the way"))
    assert KB.messages["fallback"] not in reply and KB.messages["did_you_mean"] not in reply
    assert "diabetes_neuropathy" in stack.tracker(sender)["slots"]["contraindications"]
    later = texts(stack.say(sender, "how do I massage my own foot?"))
    assert first_line("self_massage") in later  # the precaution shapes the answer, it does not hold it back


def test_a_short_follow_up_is_read_in_context(stack):
    sender = new_sender()
    stack.say(sender, "does fascia massage help plantar fasciitis?")
    reply = texts(stack.say(sender, "and will it hurt?"))
    assert first_line("side_effects") in reply


def test_parse_gives_the_question_topic_for_a_greeting_with_a_question(stack):
    parsed = stack.parse("hi there! what should i wear to my first session")
    assert parsed["intent"]["name"] == "ask_preparation"
    assert parsed.get("footcare_greeting") is True


# ---------------------------------------------------------------- tests/conversations/*.yml, live
# `rasa test core` checks the actions each story predicts, but runs no action, so it cannot see the
# slots the actions set. Here every story runs through the live servers, and each `slot_was_set`
# step must match the stored conversation after that turn: a lost topic or condition fails.

CONVERSATIONS = sorted((Path(__file__).parent / "conversations").glob("*.yml"))
ENTITY_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def stories() -> list[tuple[str, list[dict]]]:
    return [
        (f"{path.name}: {story['story']}", story["steps"])
        for path in CONVERSATIONS
        for story in yaml.safe_load(path.read_text())["stories"]
    ]


def turns(steps: list[dict]) -> list[tuple[str, dict]]:
    """(the message as typed, the slots the story expects after it) for each user step. A slot keeps
    the value a `slot_was_set` step gave it for the rest of the story, unless another one changes it."""
    result: list[tuple[str, dict]] = []
    for step in steps:
        if "user" in step:
            result.append((ENTITY_MARKUP.sub(r"\1", step["user"].strip()), dict(result[-1][1]) if result else {}))
        for slot in step.get("slot_was_set", []):
            result[-1][1].update(slot)
    return result


# Stories whose live answer is on another topic than the story's intent (found by this test; the
# NLU or the topic choice is to be fixed, then these pass and strict xfail says so).
ANSWERED_ON_ANOTHER_TOPIC = {
    "test_topics.yml: long-term results": "'how many sessions before i notice a difference' is answered as session_length",
}


def live_stories() -> list:
    return [
        pytest.param(
            steps,
            id=name,
            marks=[pytest.mark.xfail(reason=ANSWERED_ON_ANOTHER_TOPIC[name], strict=True)]
            if name in ANSWERED_ON_ANOTHER_TOPIC
            else [],
        )
        for name, steps in stories()
    ]


def test_every_answer_in_the_conversation_tests_names_its_topic():
    for name, steps in stories():
        for i, step in enumerate(steps):
            if step.get("action") == "action_answer":
                following = steps[i + 1] if i + 1 < len(steps) else {}
                assert any("topic" in slot for slot in following.get("slot_was_set", [])), (
                    f"{name}: action_answer (step {i + 1}) needs a `slot_was_set` step with its topic"
                )


@pytest.mark.parametrize("steps", live_stories())
def test_conversation_tests_set_the_slots_they_name(stack, steps):
    sender = new_sender()
    for text, expected in turns(steps):
        stack.say(sender, text)
        slots = stack.tracker(sender)["slots"]
        assert {name: slots.get(name) for name in expected} == expected, text


# ------------------------------------------------------------ screening questions


def question_of(replies) -> dict:
    """The one screening question of a turn: ends with "?" and has Yes / No / Not sure buttons."""
    assert len(replies) == 1, replies
    reply = replies[0]
    assert reply["text"].endswith("?"), reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["/affirm", "/deny", "/not_sure"]
    return reply


# an injury with pain that does not settle whether the foot can bear weight: the detector is unsure,
# so the assistant asks (a fall with a swollen, bruised foot now gets the same-day advice at once)
INJURY = "hi, i fell off a ladder yesterday and my ankle hurts, can massage help?"


def test_an_injury_story_gets_a_screening_question_and_yes_gives_the_levels_advice(stack):
    sender = new_sender()
    question_of(stack.say(sender, INJURY))
    reply = texts(stack.say(sender, "/affirm"))
    action = safety.texts().levels["same_day"].action.format(**clinic().placeholders())
    assert reply.startswith(action), reply
    assert shown(KB.topics["benefits"].answer) not in reply  # held back while the level holds
    assert reply.endswith(DOCTOR)
    later = texts(stack.say(sender, "how do i massage my foot at home?"))
    assert later.startswith("Reminder"), later  # remembered


def test_an_injury_story_then_no_i_can_walk_fine_gets_no_alarm(stack):
    sender = new_sender()
    question_of(stack.say(sender, INJURY))
    replies = stack.say(sender, "no, I can walk fine")
    if replies[-1]["text"].endswith("?") and replies[-1].get("buttons", [{}])[0].get("payload") == "/affirm":
        replies = stack.say(sender, "nope")  # a second question for the same sign
    reply = texts(replies)
    for level in safety.LEVELS:
        assert safety.texts().levels[level].action.format(**clinic().placeholders()) not in reply
    assert shown(KB.topics["benefits"].answer) in reply and reply.endswith(DOCTOR)


def test_a_suspected_clot_then_would_massage_help_gets_no_benefits_text(stack):
    sender = new_sender()
    first = texts(stack.say(sender, "my left calf is swollen, warm and sore since my long flight home on sunday"))
    assert first.startswith(safety.texts().levels["same_day"].action.format(**clinic().placeholders()))
    reply = texts(stack.say(sender, "would massage help?"))
    assert shown(KB.topics["benefits"].answer) not in reply and "looser" not in reply
    assert reply.startswith("Reminder") and KB.messages["withheld"] in reply


def test_a_fever_that_is_over_gets_no_alarm(stack):
    reply = texts(
        stack.say(new_sender(), "i had a fever last week but it's gone now, my heel still hurts in the mornings")
    )
    assert not reply.endswith("?")
    for level in safety.LEVELS:
        assert safety.texts().levels[level].action.format(**clinic().placeholders()) not in reply


def test_should_i_massage_a_blood_clot_gets_a_clear_no(stack):
    reply = texts(stack.say(new_sender(), "should I massage a blood clot?"))
    assert re.search(r"\b(no|do not|don't)\b", reply, re.IGNORECASE), reply
    assert reply.endswith(DOCTOR)
