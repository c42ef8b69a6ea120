"""Messages that say more than one thing, statements, follow-ups and "Did you mean"
(actions/dialogue.py, footnlp/parts.py), and the sentence encoder's hash check
(footnlp/encoder.py). The trained components are tested live in
tests/test_live_conversations.py."""

from __future__ import annotations

import json

import pytest

from actions import actions, dialogue
from footcare_content.knowledge import knowledge
from footnlp import encoder
from footnlp.parts import MAX_PARTS, asks, split_parts

KB = knowledge()


@pytest.mark.parametrize(
    "text, parts",
    [
        (
            "hello! my arch has hurt for weeks, can massage fix that?",
            ["hello", "my arch has hurt for weeks", "can massage fix that?"],
        ),
        ("no swelling, just tingling", ["no swelling, just tingling"]),
        ("how do I prepare and what are the side effects?", ["how do I prepare", "what are the side effects?"]),
        (
            "I have had heel pain for 2 years. I tried insoles.What should I do?",
            ["I have had heel pain for 2 years.", "I tried insoles.", "What should I do?"],
        ),
        ("I have PF and a heel spur", ["I have PF and a heel spur"]),
        # typed in a hurry: still two questions
        ("wat is fasha masage and dose it hurt", ["wat is fasha masage", "dose it hurt"]),
        ("", []),
    ],
)
def test_a_message_splits_into_its_parts(text, parts):
    assert split_parts(text) == parts


def test_a_long_post_is_read_in_a_bounded_number_of_parts():
    post = " ".join(f"Sentence number {i} of my story." for i in range(400)) + " So what should I do?"
    parts = split_parts(post)
    assert len(parts) == MAX_PARTS and parts[-1] == "So what should I do?"


@pytest.mark.parametrize(
    "part, question",
    [
        ("What should I do?", True),
        ("ok so what do i wear", True),
        ("and will it hurt", True),
        ("I tried insoles and stretching.", False),
        ("my heel has hurt for weeks", False),
    ],
)
def test_only_questions_count_as_asking(part, question):
    assert asks(part) is question


def _run(action, make_tracker, dispatcher, text, intent, **extra):
    slots = extra.pop("slots", {})
    tracker = make_tracker(text, intent, extra.pop("entities", None), **slots)
    tracker.latest_message.update(extra)
    events = action.run(dispatcher, tracker, {})
    import asyncio

    return asyncio.run(events) if asyncio.iscoroutine(events) else events


def test_two_questions_get_both_answers_in_the_order_asked(make_tracker, dispatcher):
    _run(
        actions.ActionAnswer(),
        make_tracker,
        dispatcher,
        "how do I prepare and what are the side effects?",
        "ask_preparation",
        footcare_topics=["ask_preparation", "ask_side_effects"],
    )
    text = dispatcher.messages[-1]["text"]
    prep = text.index(KB.topics["preparation"].answer.split("\n")[0])
    side = text.index(KB.topics["side_effects"].answer.split("\n")[0])
    assert prep < side
    assert text.rstrip().endswith(KB.doctor_recommendation)


def test_a_greeting_with_a_question_answers_the_question_after_one_line(make_tracker, dispatcher):
    _run(
        actions.ActionAnswer(),
        make_tracker,
        dispatcher,
        "hello! my arch has hurt for weeks, can massage fix that?",
        "ask_benefits",
        footcare_greeting=True,
    )
    text = dispatcher.messages[-1]["text"]
    assert text.startswith(KB.messages["hello_line"])
    assert KB.topics["benefits"].answer.split("\n")[0] in text
    assert KB.messages["greet"].split("\n")[0] not in text


def test_booking_and_a_topic_in_one_message_get_both(make_tracker, dispatcher):
    _run(
        actions.ActionBooking(),
        make_tracker,
        dispatcher,
        "how much is it and what should I wear?",
        "ask_booking",
        footcare_topics=["ask_booking", "ask_preparation"],
    )
    text = dispatcher.messages[-1]["text"]
    assert text.index("book online") < text.index(KB.topics["preparation"].answer.split("\n")[0])


def test_a_health_fact_is_acknowledged_remembered_and_never_misunderstood(make_tracker, dispatcher):
    events = _run(actions.ActionAnswer(), make_tracker, dispatcher, "I'm diabetic by the way", "inform_condition")
    text = dispatcher.messages[-1]["text"]
    assert "Diabetes" in text.split("\n\n")[0]  # its precaution is the acknowledgement
    assert KB.messages["fallback"] not in text and "next?" not in text
    assert "diabetes_neuropathy" in {e["name"]: e["value"] for e in events if e["event"] == "slot"}["contraindications"]


def test_a_plain_statement_gets_one_line(make_tracker, dispatcher):
    _run(actions.ActionAnswer(), make_tracker, dispatcher, "I work as a nurse", "inform_condition")
    assert dispatcher.messages[-1]["text"].startswith(KB.messages["noted"])


def test_a_condition_told_first_thing_is_acknowledged_and_explained(make_tracker, dispatcher):
    _run(
        actions.ActionAnswer(),
        make_tracker,
        dispatcher,
        "I have heel spurs",
        "inform_condition",
        entities=[{"entity": "condition", "value": "heel_spur"}],
        slots={"condition": "heel_spur"},
    )
    text = dispatcher.messages[-1]["text"]
    assert text.startswith("Thanks, I'll keep in mind that you have heel spurs.")
    assert KB.topics["condition_info"].by_condition["heel_spur"] in text


def test_a_short_unclear_follow_up_is_read_in_the_context_of_the_last_topic():
    ctx = dialogue.Context(text="and for how long?", last_topic="benefits")
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}, {"name": "ask_long_term_results", "confidence": 0.3}]
    assert dialogue.follow_up_topic(ctx, ranking) == "long_term_results"
    assert dialogue.follow_up_topic(dialogue.Context(text="and for how long?"), ranking) is None
    long = dialogue.Context(text="so I was wondering about all of this and more of that", last_topic="benefits")
    assert dialogue.follow_up_topic(long, ranking) is None


def test_unsure_offers_the_nearest_topics_as_did_you_mean_buttons(make_tracker, dispatcher):
    _run(
        actions.ActionFallback(),
        make_tracker,
        dispatcher,
        "the thing with the ball",
        "nlu_fallback",
        footcare_suggestions=["ask_self_massage", "ask_procedure"],
        intent_ranking=[],
    )
    reply = dispatcher.messages[-1]
    assert reply["text"].startswith(KB.messages["did_you_mean"])
    assert "next?" not in reply["text"]  # the nearest topics are buttons, not an offer
    payloads = [b["payload"] for b in reply["buttons"]]
    assert payloads[:2] == ["/ask_self_massage", "/ask_procedure"]


def test_without_suggestions_the_fallback_offers_the_menu(make_tracker, dispatcher):
    _run(actions.ActionFallback(), make_tracker, dispatcher, "asdf qwer", "nlu_fallback", intent_ranking=[])
    assert dispatcher.messages[-1]["text"].startswith(KB.messages["fallback"])


def test_the_encoder_refuses_files_with_other_hashes(tmp_path):
    for name in encoder.SHA256:
        (tmp_path / name).write_bytes(b"not the model")
    with pytest.raises(encoder.EncoderError, match="Refusing to use it"):
        encoder.check_hashes(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(encoder.EncoderError, match="missing"):
        encoder.check_hashes(tmp_path)


def test_vocab_txt_is_the_tokenizer_vocabulary_in_id_order(tmp_path):
    (tmp_path / "tokenizer.json").write_text(json.dumps({"model": {"vocab": {"b": 1, "[PAD]": 0, "c": 2}}}))
    encoder._write_vocab(tmp_path)
    assert (tmp_path / "vocab.txt").read_text().splitlines() == ["[PAD]", "b", "c"]


def test_a_missing_model_folder_says_how_to_build_it(tmp_path):
    with pytest.raises(encoder.EncoderError, match="make train"):
        encoder.Encoder(tmp_path)
    with pytest.raises(encoder.EncoderError, match="tf_model.h5"):
        encoder.Encoder(tmp_path, "tensorflow")
    with pytest.raises(encoder.EncoderError, match="runtime must be one of"):
        encoder.Encoder(tmp_path, "torch")


def _padded_work(lengths, groups):
    return sum(encoder.CALL_COST_TOKENS + len(g) * max(lengths[i] for i in g) for g in groups)


def test_a_long_message_and_its_short_sentences_are_encoded_in_different_batches():
    # a long message (the whole, 128 tokens), its six sentences and five pairs of neighbouring sentences
    lengths = [128, 14, 20, 18, 22, 16, 19, 33, 37, 39, 40, 34]
    groups = encoder.batches(lengths)
    assert sorted(i for g in groups for i in g) == list(range(len(lengths)))
    assert [0] in groups  # the whole message alone: padding the sentences to 128 tokens is the waste
    assert _padded_work(lengths, groups) < _padded_work(lengths, [list(range(len(lengths)))]) / 2
    # texts of about one length stay in one call; no batch is larger than asked
    assert encoder.batches([7, 8, 8, 9]) == [[0, 1, 2, 3]]
    assert all(len(g) <= 3 for g in encoder.batches([5] * 10, batch_size=3))
    assert encoder.batches([]) == []


@pytest.mark.model
def test_the_served_encoder_gives_the_tensorflow_models_vectors():
    # the ONNX export the servers run, against the TensorFlow model it was exported from
    assert encoder.check_runtimes(encoder.DEFAULT_DIR) <= encoder.ONNX_TOLERANCE


def _answer(tracker):
    dispatcher = actions.CollectingDispatcher()
    events = actions.ActionAnswer().run(dispatcher, tracker, {})
    import asyncio

    events = asyncio.run(events)
    return dispatcher.messages[-1]["text"], {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _asked_twice(make_tracker, first: str, second: str, intent: str, **slots):
    tracker = make_tracker(second, intent, **slots)
    earlier = {"text": first, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    tracker.events.insert(len(tracker.events) - 1, {"event": "user", "text": first, "parse_data": earlier})
    return tracker


def test_the_same_topic_asked_again_gets_its_details_not_the_same_text(make_tracker):
    kb = knowledge()
    topic = kb.topics["what_is_fascia_massage"]
    assert topic.details, "the test needs a topic with details"
    tracker = _asked_twice(
        make_tracker,
        "what is fascia massage",
        "is it the same as a normal foot massage",
        "ask_what_is_fascia_massage",
        topic="what_is_fascia_massage",
    )
    text, slots = _answer(tracker)
    assert dialogue._fill(topic.details, dialogue.clinic()).split("\n")[0] in text
    assert kb.answer("what_is_fascia_massage", None).split("\n")[0] not in text
    assert slots["topic"] == "what_is_fascia_massage"


def test_the_same_topic_asked_again_in_other_words_gets_its_details(make_tracker):
    # "can massage get rid of it?" (read from its context) -> "how long till I see results?"
    kb = knowledge()
    tracker = _asked_twice(
        make_tracker,
        "can massage get rid of it",
        "how long till i see results",
        "ask_long_term_results",
        topic="long_term_results",
    )
    tracker.events[-2]["parse_data"]["intent"]["name"] = "nlu_fallback"
    text, _ = _answer(tracker)
    assert dialogue._fill(kb.topics["long_term_results"].details, dialogue.clinic()).split("\n")[0] in text


def test_a_topic_asked_again_after_a_condition_gets_the_answer_for_that_condition(make_tracker):
    # "how do I prepare" -> "I have heel spurs" -> "how do I prepare then": the answer, not the details
    tracker = make_tracker("how should i prepare then", "ask_preparation", topic="preparation", condition="heel_spur")
    earlier = {"text": "i have heel spurs", "intent": {"name": "inform_condition", "confidence": 0.9}, "entities": []}
    tracker.events.insert(
        len(tracker.events) - 1, {"event": "user", "text": "i have heel spurs", "parse_data": earlier}
    )
    text, _ = _answer(tracker)
    assert knowledge().topics["preparation"].by_condition["heel_spur"] in text


def test_a_greeting_with_a_warning_sign_opens_with_the_advice_not_a_hello(make_tracker, dispatcher):
    # "Hello! Here is what I can tell you." after "Call 999 now" reads as if the advice was small talk
    _run(
        actions.ActionAnswer(),
        make_tracker,
        dispatcher,
        "hi, my toes went cold and blue this morning, can I massage them?",
        "ask_self_massage",
        footcare_greeting=True,
    )
    message = dispatcher.messages[-1]
    assert message["text"].startswith(f"Call {dialogue.clinic().emergency_number} now.")
    assert KB.messages["hello_line"] not in message["text"]
    # while the warning holds, no button leads to an answer it holds back
    held = {f"/{t.intent}" for t in KB.topics.values() if t.withhold_on_red_flag}
    assert message["buttons"] and not held & {b["payload"] for b in message["buttons"]}


def test_a_warning_sign_the_nlu_could_not_place_gets_the_advice_without_did_you_mean(make_tracker, dispatcher):
    # a long story of a swollen calf after a flight: the advice answers it; "I'm not sure I understood" would not
    _run(
        actions.ActionFallback(),
        make_tracker,
        dispatcher,
        "flew home from sydney on sunday. since then my right calf is swollen and sore, thought it was the bags",
        "nlu_fallback",
        footcare_suggestions=["describe_symptoms", "ask_procedure"],
    )
    message = dispatcher.messages[-1]
    assert "today" in message["text"].split("\n\n")[0]
    assert KB.messages["did_you_mean"] not in message["text"] and KB.messages["fallback"] not in message["text"]
    assert message["buttons"]
