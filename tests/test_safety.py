"""actions/safety.py: check(), urgent_reply(), precaution_reply()."""
from __future__ import annotations

import re

import pytest

from actions import safety
from actions.safety import SafetyCheck


def test_check_finds_red_flags_in_order_without_duplicates():
    result = safety.check("My foot went numb, then it was numb again, and now my toes are tingling")
    assert result.red_flags == ["numbness", "tingling"]
    assert result.emergency is False
    assert result.urgent is True


def test_check_leaves_out_negated_mentions():
    result = safety.check("I have numbness but no fever, and I'm not diabetic")
    assert result.red_flags == ["numbness"]
    assert result.contraindications == []


def test_check_marks_emergencies():
    assert safety.check("I'm short of breath and my calf is swollen").emergency is True
    assert safety.check("my calf is swollen").emergency is False


def test_check_finds_contraindications():
    result = safety.check("I'm on warfarin and 20 weeks pregnant, and I had a cortisone shot in my heel")
    assert result.red_flags == []
    assert result.contraindications == ["anticoagulants", "pregnancy", "steroid_injection"]


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "🦶🦶🦶", "<script>alert('numb')</script>", "x" * 10_000, "no " * 5000, 42],
)
def test_check_never_crashes(text):
    result = safety.check(text)
    assert isinstance(result, SafetyCheck)


def test_check_handles_a_long_message_with_a_red_flag_at_the_end():
    text = "my heel hurts in the morning. " * 300 + "Now my foot has gone numb."
    assert safety.check(text).red_flags == ["numbness"]


def test_pipeline_is_loaded_once():
    safety.check("hello")
    first = safety._load()[0]
    safety.check("my foot is numb")
    assert safety._load()[0] is first


def test_no_reply_without_red_flags():
    result = safety.check("my heel hurts in the morning")
    assert safety.urgent_reply(result, "999") is None
    assert safety.precaution_reply(result) is None


def test_urgent_reply_for_an_urgent_flag():
    texts = safety.texts()
    result = safety.check("my toes keep tingling")
    reply = safety.urgent_reply(result, "999")
    assert reply.startswith(texts.urgent_intro.format(emergency_number="999"))
    assert texts.red_flags["tingling"].reason in reply
    assert "{" not in reply and "}" not in reply


def test_urgent_reply_for_an_emergency_uses_the_emergency_number():
    texts = safety.texts()
    result = safety.check("chest pain and my calf is swollen")
    reply = safety.urgent_reply(result, "112")
    assert reply.startswith(texts.emergency_intro.format(emergency_number="112"))
    assert "call 112" in reply.lower()
    assert "{emergency_number}" not in reply
    # emergencies come first, then the other reasons
    assert reply.index(texts.red_flags["breathless_chest_pain"].reason) < reply.index(
        texts.red_flags["calf_clot"].reason.format(emergency_number="112")
    )


def test_urgent_reply_tells_them_not_to_massage_and_to_get_care():
    for text, number in (("my foot went numb", "911"), ("I heard a pop and can't walk", "000")):
        reply = safety.urgent_reply(safety.check(text), number).lower()
        assert "massage" in reply
        assert "doctor" in reply or "emergency department" in reply
        assert number in reply


def test_urgent_reply_without_a_number_still_reads_well():
    reply = safety.urgent_reply(safety.check("my foot is cold and blue"), "")
    assert safety.FALLBACK_EMERGENCY_NUMBER in reply


def test_urgent_reply_for_a_hand_made_check():
    reply = safety.urgent_reply(SafetyCheck(red_flags=["fever"]), "999")
    assert reply.startswith(safety.texts().urgent_intro.format(emergency_number="999"))
    assert safety.urgent_reply(SafetyCheck(), "999") is None


def test_precaution_reply_names_each_precaution_and_the_doctor():
    texts = safety.texts()
    result = safety.check("I have diabetes and take apixaban")
    reply = safety.precaution_reply(result)
    assert reply.startswith(texts.precaution_intro)
    assert texts.contraindications["diabetes_neuropathy"] in reply
    assert texts.contraindications["anticoagulants"] in reply
    assert "doctor" in reply.lower()


def test_precaution_reply_ignores_negated_contraindications():
    assert safety.precaution_reply(safety.check("I don't have diabetes and I'm not pregnant")) is None


def test_every_id_has_its_text():
    texts = safety.texts()
    from footnlp.lexicon import load_lexicon

    lexicon = load_lexicon()
    for rf in lexicon.ids("red_flag"):
        assert texts.red_flags[rf].level in ("emergency", "urgent")
        assert texts.red_flags[rf].reason
    for ci in lexicon.ids("contraindication"):
        assert texts.contraindications[ci]
    assert texts.red_flags["breathless_chest_pain"].level == "emergency"


def test_texts_stay_careful():
    texts = safety.texts()
    everything = " ".join(
        [texts.emergency_intro, texts.urgent_intro, texts.precaution_intro, texts.precaution_outro]
        + [r.reason for r in texts.red_flags.values()]
        + list(texts.contraindications.values())
    ).lower()
    for word in ("cure", "proven", "guarantee", "always safe", "definitely"):
        assert not re.search(rf"\b{word}\b", everything), word
    assert "don't massage" in everything or "do not massage" in everything


def test_findings_of_the_nlu_pipeline_are_reused():
    """What FootcareEntityExtractor found is taken as is (the text is not parsed again)."""
    findings = {"red_flags": ["numbness"], "contraindications": ["anticoagulants"]}
    result = safety.check("text the NLU already read", findings)
    assert result.red_flags == ["numbness"] and result.contraindications == ["anticoagulants"]
    assert safety.check("my calf is swollen", {"red_flags": [], "contraindications": []}).red_flags == []


@pytest.mark.parametrize(
    "findings",
    [
        None,  # a button payload or a tracker made without NLU
        "numbness",
        {"red_flags": "numbness", "contraindications": []},
        {"red_flags": ["numbness"]},
        {"red_flags": ["not_a_red_flag"], "contraindications": []},
        {"red_flags": [], "contraindications": [7]},
    ],
)
def test_unusable_findings_mean_the_text_is_checked(findings):
    result = safety.check("my foot went numb and I'm on warfarin", findings)
    assert result.red_flags == ["numbness"] and result.contraindications == ["anticoagulants"]
