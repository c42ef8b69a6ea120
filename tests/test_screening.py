"""Screening questions: content/screening.yml, reading answers, when to ask, and the form's actions."""

from __future__ import annotations

import copy

import pytest
import yaml

from actions import actions, dialogue, safety
from actions.safety import screening
from actions.safety.memory import Memory
from footcare_content.clinic import clinic
from footcare_content.files import ContentError
from footcare_content.knowledge import knowledge

KB = knowledge()
QUESTIONS = screening.questions()
DATA = yaml.safe_load(screening.SCREENING_FILE.read_text(encoding="utf-8"))


def findings(**changes):
    base = {"red_flags": [], "contraindications": [], "history": [], "cleared": False, "health": True}
    base.update(changes)
    return base


def action_line(level: str) -> str:
    return safety.texts().levels[level].action.format(**clinic().placeholders())


# ------------------------------------------------------------------ content


def test_every_question_is_one_plain_question_and_yes_means_the_sign():
    for question in QUESTIONS.questions.values():
        assert question.ask.endswith("?") and question.ask.count("?") == 1
        assert question.sign in safety.texts().red_flags and question.sources
        assert question.sign in question.signs or question.id == "four_steps"


def test_every_urgent_sign_has_a_question():
    """Every emergency and same-day sign can be asked about when it is only hinted at."""
    urgent = {sid for sid, sign in safety.texts().red_flags.items() if sign.level in ("emergency", "same_day")}
    assert urgent <= {s for q in QUESTIONS.questions.values() for s in q.signs}


@pytest.mark.parametrize(
    "mutate, key, problem",
    [
        (
            lambda d: d["questions"]["tiptoe"].update(ask="Can you stand on tiptoe."),
            "questions.tiptoe.ask",
            "ends with '?'",
        ),
        (lambda d: d["questions"]["tiptoe"].update(sign="achy_feet"), "questions.tiptoe.sign", "warning sign"),
        (lambda d: d["questions"]["tiptoe"].update({"for": []}), "questions.tiptoe.for", "warning signs"),
        (lambda d: d["answers"].update({"yes": [True]}), "answers.yes", "quotes"),
        (lambda d: d.update(max_questions=3), "max_questions", "1 or 2"),
        (lambda d: d.update(colour="red"), "colour", "not a known key"),
    ],
)
def test_a_broken_screening_file_names_the_key(mutate, key, problem):
    data = copy.deepcopy(DATA)
    mutate(data)
    with pytest.raises(ContentError) as error:
        screening.parse_screening(data, "screening.yml")
    assert key in str(error.value) and problem in str(error.value)


# ------------------------------------------------------------------ answers


@pytest.mark.parametrize(
    "text, question, answer",
    [
        ("/affirm", None, "yes"),
        ("/deny", None, "no"),
        ("/not_sure", None, "unsure"),
        ("yes", None, "yes"),
        ("Yeah a little", None, "yes"),
        ("a bit", "tiptoe", "yes"),
        ("nope", None, "no"),
        ("Not really", None, "no"),
        ("no, I can walk fine", "four_steps", "no"),
        ("I can hobble", "four_steps", "no"),
        ("i cant put weight on it at all", "four_steps", "yes"),
        ("not sure", None, "unsure"),
        ("no idea", None, "unsure"),
        ("skip", None, "unsure"),
        ("what do you mean?", None, "other"),  # not an answer: counted as Not sure
        ("yes and no", None, "unsure"),
    ],
)
def test_typed_answers_are_read(text, question, answer):
    assert screening.read_answer(text, QUESTIONS.questions.get(question or "")) == answer


def test_the_nlu_intent_decides_an_answer_without_known_words():
    assert screening.read_answer("absolutely", None, intent="affirm") == "yes"
    assert screening.read_answer("nah mate", None, intent="deny") == "no"


# ------------------------------------------------------------------ when to ask


def test_a_hint_gets_a_question_unless_something_as_urgent_is_told():
    hinted = safety.check(findings(suspected={"sudden_injury": 0.7}))
    assert screening.first_question(hinted, Memory()).id == "tiptoe"
    told = safety.check(findings(red_flags=["calf_clot"], suspected={"sudden_injury": 0.7}))
    assert screening.first_question(told, Memory()) is None  # same_day advice comes anyway
    upgrade = safety.check(findings(red_flags=["numbness"], suspected={"cold_pale_blue_foot": 0.7}))
    assert screening.first_question(upgrade, Memory()).id == "cold_pale_foot"


def test_no_question_while_the_conversation_holds_that_level_or_asked_it_before():
    hinted = safety.check(findings(suspected={"sudden_injury": 0.7}))
    assert screening.first_question(hinted, Memory(("calf_clot",), "same_day")) is None
    assert screening.first_question(hinted, Memory(screened=("tiptoe",))).id == "four_steps"
    assert screening.first_question(hinted, Memory(screened=("tiptoe", "four_steps"))) is None


def test_a_no_leads_to_the_next_question_for_the_sign_at_most_twice():
    assert screening.next_question(["tiptoe"], Memory()).id == "four_steps"
    assert screening.next_question(["tiptoe", "four_steps"], Memory()) is None
    assert screening.next_question(["hot_joint"], Memory()) is None  # one question for that sign


def test_after_a_no_the_next_question_may_be_about_another_sign_the_message_hints_at():
    # a swollen toe after a kick, hot and red too: No to the one question about a hot joint, then the
    # injury's question (at most two in all)
    both = safety.check(findings(suspected={"hot_red_swollen_foot": 0.8, "sudden_injury": 0.7}))
    first = screening.first_question(both, Memory())
    following = screening.next_question([first.id], Memory(screened=(first.id,)), both)
    assert following is not None and following.sign != first.sign
    assert screening.next_question([first.id, following.id], Memory(), both) is None
    # only one sign hinted at: nothing more after its one question
    one = safety.check(findings(suspected={"hot_red_swollen_foot": 0.8}))
    assert screening.next_question(["hot_joint"], Memory(screened=("hot_joint",)), one) is None


def test_validation_asks_about_another_hinted_sign_after_a_no(make_tracker, dispatcher):
    pending = {"findings": findings(suspected={"hot_red_swollen_foot": 0.8, "sudden_injury": 0.7})}
    first = screening.first_question(safety.check(pending["findings"]), Memory()).id
    tracker = make_tracker(
        "no", "deny", screening_question=first, screening_asked=[first], screened=[first], screening_pending=pending
    )
    slots = actions.ValidateScreeningForm().validate_screening_answer("no", dispatcher, tracker, {})
    assert slots["screening_question"] not in (None, first) and len(slots["screening_asked"]) == 2


# ------------------------------------------------------------------ the dialogue


def hinted_ctx(text="i slipped on the stairs and my foot is swollen, would massage help?", **changes):
    return dialogue.Context(text=text, findings=findings(suspected={"sudden_injury": 0.7}), **changes)


def test_a_hint_holds_the_reply_and_starts_the_screening():
    turn = dialogue.answer_topic(hinted_ctx(), "benefits")
    assert turn.screen and turn.replies == []
    assert turn.slots["screening_question"] == "tiptoe" and turn.slots["screened"] == ["tiptoe"]
    assert turn.slots["screening_pending"]["body"][0][0] == KB.answer("benefits", None)


def test_the_question_comes_with_yes_no_not_sure():
    first = dialogue.screening_question("tiptoe", first=True).replies[0]
    assert first.text == f"{QUESTIONS.intro}\n\n{QUESTIONS.questions['tiptoe'].ask}"
    assert [b["payload"] for b in first.buttons] == ["/affirm", "/deny", "/not_sure"]
    assert (
        dialogue.screening_question("four_steps", first=False).replies[0].text == QUESTIONS.questions["four_steps"].ask
    )


@pytest.mark.parametrize("answer", ["yes", "unsure"])
def test_yes_or_not_sure_gives_the_levels_advice_then_holds_back_massage(answer):
    pending = dialogue.answer_topic(hinted_ctx(), "benefits").slots["screening_pending"]
    turn = dialogue.after_screening(dialogue.Context(text="yes"), answer, ["tiptoe"], pending)
    assert turn.text.startswith(action_line("same_day"))
    assert KB.answer("benefits", None) not in turn.text and KB.messages["withheld"] in turn.text
    assert turn.slots["red_flags"] == ["sudden_injury"] and turn.slots["urgency"] == "same_day"
    assert turn.text.endswith(KB.doctor_recommendation)


def test_no_gives_the_held_reply_without_an_alarm():
    pending = dialogue.answer_topic(hinted_ctx(), "benefits").slots["screening_pending"]
    turn = dialogue.after_screening(dialogue.Context(text="nope"), "no", ["tiptoe", "four_steps"], pending)
    assert turn.text.startswith(QUESTIONS.after_no)
    assert KB.answer("benefits", None) in turn.text and not turn.screen
    for level in safety.LEVELS:
        assert action_line(level) not in turn.text
    assert turn.text.endswith(KB.doctor_recommendation)


def test_a_new_question_instead_of_an_answer_gets_the_advice_then_its_answer():
    pending = dialogue.answer_topic(hinted_ctx(), "benefits").slots["screening_pending"]
    turn = dialogue.after_screening(
        dialogue.Context(text="how much does it cost?"), "other", ["tiptoe"], pending, new_topic="cost"
    )
    assert turn.text.startswith(action_line("same_day"))
    assert dialogue.shown(KB.answer("cost", None)) in turn.text and KB.answer("benefits", None) not in turn.text


def test_what_the_answer_itself_tells_counts_too():
    pending = dialogue.answer_topic(hinted_ctx(), "benefits").slots["screening_pending"]
    answer = dialogue.Context(text="no but now i cant breathe", findings=findings(red_flags=["breathless_chest_pain"]))
    turn = dialogue.after_screening(answer, "no", ["tiptoe"], pending)
    assert turn.text.startswith(action_line("emergency"))


# ------------------------------------------------------------------ the form's actions


def run(action, dispatcher, tracker):
    import asyncio

    return asyncio.run(action.run(dispatcher, tracker, {}))


def test_the_answer_action_starts_the_form(make_tracker, dispatcher):
    tracker = make_tracker(
        "i slipped on the stairs, would massage help?",
        "ask_benefits",
        findings=findings(suspected={"sudden_injury": 0.7}),
    )
    events = run(actions.ActionAnswer(), dispatcher, tracker)
    assert dispatcher.messages == []
    assert {"event": "active_loop", "name": "screening_form", "timestamp": None} in events


def test_the_ask_action_sends_the_question_in_the_slot(make_tracker, dispatcher):
    tracker = make_tracker("", "ask_benefits", screening_question="one_calf", screening_asked=["one_calf"])
    run(actions.ActionAskScreeningAnswer(), dispatcher, tracker)
    assert dispatcher.messages[0]["text"].endswith(QUESTIONS.questions["one_calf"].ask)
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny", "/not_sure"]


def test_validation_asks_the_next_question_after_a_no(make_tracker, dispatcher):
    validate = actions.ValidateScreeningForm()
    tracker = make_tracker("nope", "deny", screening_question="tiptoe", screening_asked=["tiptoe"], screened=["tiptoe"])
    slots = validate.validate_screening_answer("nope", dispatcher, tracker, {})
    assert slots == {
        "screening_answer": None,
        "screening_question": "four_steps",
        "screening_asked": ["tiptoe", "four_steps"],
        "screened": ["tiptoe", "four_steps"],
    }
    tracker = make_tracker("a bit", "affirm", screening_question="tiptoe", screening_asked=["tiptoe"])
    assert validate.validate_screening_answer("a bit", dispatcher, tracker, {}) == {"screening_answer": "yes"}


def test_the_result_action_answers_and_clears_the_form_slots(make_tracker, dispatcher):
    pending = dialogue.answer_topic(hinted_ctx(), "benefits").slots["screening_pending"]
    tracker = make_tracker(
        "yes",
        "affirm",
        screening_answer="yes",
        screening_question="tiptoe",
        screening_asked=["tiptoe"],
        screening_pending=pending,
        screened=["tiptoe"],
    )
    events = run(actions.ActionScreeningResult(), dispatcher, tracker)
    assert dispatcher.messages[0]["text"].startswith(action_line("same_day"))
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["screening_pending"] is None and slots["screening_answer"] is None
    assert slots["red_flags"] == ["sudden_injury"] and slots["screened"] == ["tiptoe"]


# ------------------------------------------------------------------ coherence


@pytest.mark.parametrize("topic", ["benefits", "procedure", "self_massage", "tools", "long_term_results"])
def test_while_a_warning_holds_nothing_promotes_massage(topic):
    ctx = dialogue.Context(text="would it help?", red_flags=("calf_clot",), urgency="same_day", findings=findings())
    turn = dialogue.answer_topic(ctx, topic)
    assert KB.answer(topic, None) not in turn.text
    assert KB.messages["withheld"] in turn.text and turn.text.startswith("Reminder")


def test_every_answer_that_names_a_signs_urgency_takes_it_from_safety_yml():
    """Knowledge texts write {when_<sign>}; a sign's level words come from content/safety.yml."""
    lines = safety.when_lines(clinic().placeholders())
    assert lines["when_calf_clot"] == "get it checked today" and lines["when_numbness"].startswith("see ")
    side_effects = dialogue.shown(KB.topics["side_effects"].answer)
    assert "one calf gets swollen, warm and painful, get it checked today" in side_effects
    assert "{when_" not in side_effects and "soon" not in side_effects.lower()
