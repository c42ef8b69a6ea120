"""actions/safety/: the decision from the NLU's findings, the three triage levels and their wording, memory."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from actions import safety
from actions.safety import Memory, SafetyCheck
from actions.safety import __main__ as safety_cli
from actions.safety.content import SAFETY_FILE as SAFETY_PATH
from actions.safety.wording import _fill
from footcare_content.clinic import Clinic
from footcare_content.files import ContentError
from footnlp.lexicon import load_lexicon
from tests.safety_helpers import read

SAFETY_FILE = Path(SAFETY_PATH)

#: the level of every warning sign, as the issue sets them
EXPECTED_LEVELS = {
    "emergency": {"breathless_chest_pain", "cold_pale_blue_foot", "sepsis_signs"},
    "same_day": {
        "sudden_injury",
        "deformity_after_injury",
        "hot_red_swollen_foot",
        "calf_clot",
        "spreading_redness",
        "fever",
        "diabetic_foot_warning",
    },
    "soon": {"numbness", "tingling", "pain_at_rest_or_night", "non_healing_wound", "stress_fracture_signs"},
}
#: what each region calls its services; a reply names only its own region's
REGION_TERMS = {
    "UK": ["999", "GP", "A&E", "NHS 111"],
    "US": ["911", "primary care doctor", "the ER", "urgent care center"],
    "EU": ["112", "family doctor", "emergency department", "out-of-hours doctor"],
}


def places(region: str) -> dict:
    clinic = Clinic("Example Foot Clinic", "+44 20 7946 0000", "a@b.test", "https://b.test/book", region)
    return clinic.placeholders()


def mentions(text: str, term: str) -> bool:
    return re.search(rf"(?<![\w&]){re.escape(term)}(?![\w&])", text) is not None


# ------------------------------------------------------------------ check


def test_check_finds_red_flags_in_order_without_duplicates():
    result = read("My foot went numb, then it was numb again, and now my toes are tingling")
    assert result.red_flags == ["numbness", "tingling"]
    assert result.urgency == "soon"
    assert result.emergency is False and result.urgent is True


def test_check_leaves_out_negated_mentions():
    result = read("I have numbness but no fever, and I'm not diabetic")
    assert result.red_flags == ["numbness"]
    assert result.contraindications == []


def test_check_gives_the_highest_level():
    assert read("I'm short of breath and my calf is swollen").urgency == "emergency"
    assert read("my calf is swollen").urgency == "same_day"
    assert read("my heel tingles").urgency == "soon"
    assert read("my heel hurts in the morning").urgency is None


def test_check_finds_contraindications():
    result = read("I'm on warfarin and 20 weeks pregnant, and I had a cortisone shot in my heel")
    assert result.red_flags == []
    assert result.contraindications == ["anticoagulants", "pregnancy", "steroid_injection"]


def test_check_marks_health_messages():
    assert read("can I book for my heel?").health is True  # a body part
    assert read("I take ibuprofen").health is True  # a medicine
    assert read("do you do physio?").health is True  # a treatment
    assert read("no pain at all, can I book?").health is True  # negated, still about health
    assert read("can I book for Tuesday?").health is False


def test_check_finds_a_doctors_all_clear_and_past_signs():
    result = read("my doctor says it's not a clot")
    assert result.cleared is True and result.red_flags == [] and result.contraindications == []
    result = read("I had a DVT ten years ago, all fine now")
    assert result.red_flags == [] and result.contraindications == ["suspected_clot"]
    assert read("had a fever last week, it's gone now").history == ["fever"]


@pytest.mark.parametrize(
    "found",
    [None, "", "   ", "🦶🦶🦶", "<script>alert('numb')</script>", "x" * 10_000, 42, [], {"red_flags": None}],
)
def test_check_never_crashes(found):
    result = safety.check(found)
    assert isinstance(result, SafetyCheck) and result.red_flags == []


def test_check_handles_a_long_message_with_a_red_flag_at_the_end():
    text = "my heel hurts in the morning. " * 300 + "Now my foot has gone numb."
    assert read(text).red_flags == ["numbness"]


def test_the_action_server_loads_no_language_model():
    """The safety layer trusts the NLU's findings: importing the actions loads neither spaCy nor TensorFlow."""
    import subprocess
    import sys

    code = "import sys, actions.actions; print(sorted(m for m in ('spacy', 'tensorflow', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


# --------------------------------------------------------------- findings


def findings(**changes):
    base = {"red_flags": [], "contraindications": [], "history": [], "cleared": False, "health": False}
    base.update(changes)
    return base


def test_findings_of_the_nlu_pipeline_are_taken_as_they_are():
    """What the NLU found is the decision's only input (the text is never read again)."""
    result = safety.check(findings(red_flags=["numbness"], contraindications=["anticoagulants"], health=True))
    assert result.red_flags == ["numbness"] and result.contraindications == ["anticoagulants"]
    assert result.sources == {"numbness": "lexicon", "anticoagulants": "lexicon"}
    assert safety.check(findings()).red_flags == []
    assert safety.check(findings(cleared=True)).cleared is True


def test_the_classifiers_signs_count_too_and_say_where_they_come_from():
    found = findings(red_flags=["numbness"], learned={"calf_clot": 0.97, "numbness": 0.96}, suspected={"fever": 0.7})
    result = safety.check(found)
    assert result.red_flags == ["numbness", "calf_clot"]  # union, lexicon first
    assert result.urgency == "same_day"
    assert result.suspected == ["fever"]
    assert result.sources == {
        "numbness": "lexicon, learned 0.96",
        "calf_clot": "learned 0.97",
        "fever": "suspected 0.70",
    }


def test_a_sign_the_classifier_does_not_back_is_asked_about_not_raised():
    result = safety.check(findings(red_flags=["numbness", "fever"], gated=["numbness"]))
    assert result.red_flags == ["fever"] and result.suspected == ["numbness"]


def test_merged_findings_keep_every_sign_and_leave_nothing_suspected():
    merged = safety.merge(
        findings(red_flags=["numbness"], suspected={"cold_pale_blue_foot": 0.8}),
        None,
        safety.told("cold_pale_blue_foot"),
        findings(contraindications=["pregnancy"]),
    )
    result = safety.check(merged)
    assert result.red_flags == ["numbness", "cold_pale_blue_foot"] and result.urgency == "emergency"
    assert result.suspected == [] and result.contraindications == ["pregnancy"]


@pytest.mark.parametrize(
    "found",
    [
        None,  # a button payload or a tracker made without NLU
        "numbness",
        {"red_flags": "numbness", "contraindications": []},
        {"red_flags": ["numbness"], "contraindications": []},  # an older model: keys missing
        findings(red_flags=["not_a_red_flag"]),
        findings(contraindications=[7]),
        findings(cleared="yes"),
        findings(learned=["calf_clot"]),
        findings(learned={"not_an_id": 0.9}),
        findings(learned={"calf_clot": 1.5}),
        findings(suspected={"calf_clot": True}),
        findings(gated="numbness"),
    ],
)
def test_unusable_findings_count_as_nothing_told(found):
    result = safety.check(found)
    assert result.red_flags == [] and result.contraindications == [] and result.suspected == []


# ------------------------------------------------------------------ levels


def test_every_sign_has_its_level_and_every_id_its_text():
    content = safety.texts()
    lexicon = load_lexicon()
    assert set(content.red_flags) == set(lexicon.ids("red_flag"))
    assert set(content.contraindications) == set(lexicon.ids("contraindication"))
    assert list(content.levels) == ["emergency", "same_day", "soon"]
    for level, ids in EXPECTED_LEVELS.items():
        assert {i for i, s in content.red_flags.items() if s.level == level} == ids, level
    assert "poor_circulation" in content.contraindications
    assert [name for name, v in content.levels.items() if v.holds_back] == ["emergency", "same_day"]


def test_every_level_sign_and_precaution_has_sources():
    content = safety.texts()
    entries = [*content.levels.values(), *content.red_flags.values(), *content.contraindications.values()]
    for entry in entries:
        assert entry.sources and all(s.startswith(("http://", "https://")) for s in entry.sources), entry.id


def test_the_reply_is_action_then_reasons_then_the_clinic():
    content = safety.texts()
    where = places("UK")
    reply = safety.warning_reply(["numbness", "calf_clot"], where)
    lines = reply.split("\n")
    # one action sentence for the most urgent level, first
    assert lines[0] == content.levels["same_day"].action.format(**where)
    assert lines[0] == "Please get this checked today: call your GP for an urgent appointment, or go to A&E."
    # then the reasons, most urgent first
    reasons = [line for line in lines if line.startswith("- ")]
    assert reasons[0].startswith("- A calf or leg") and reasons[1].startswith("- Numbness")
    # then the clinic's phone
    assert reply.endswith("You can also call Example Foot Clinic on +44 20 7946 0000.")
    assert "{" not in reply and "}" not in reply


@pytest.mark.parametrize(
    "red_flag, first_line",
    [
        ("breathless_chest_pain", {"UK": "Call 999 now.", "US": "Call 911 now.", "EU": "Call 112 now."}),
        (
            "calf_clot",
            {
                "UK": "Please get this checked today: call your GP for an urgent appointment, or go to A&E.",
                "US": "Please get this checked today: call your primary care doctor for an urgent appointment, or go to the ER.",
                "EU": "Please get this checked today: call your family doctor for an urgent appointment, or go to the emergency department.",
            },
        ),
        (
            "tingling",
            {
                "UK": "Please see your GP about this in the next few days.",
                "US": "Please see your primary care doctor about this in the next few days.",
                "EU": "Please see your family doctor about this in the next few days.",
            },
        ),
    ],
)
@pytest.mark.parametrize("region", ["UK", "US", "EU"])
def test_each_levels_wording_by_region(red_flag, first_line, region):
    reply = safety.warning_reply([red_flag], places(region))
    assert reply.split("\n")[0] == first_line[region]


@pytest.mark.parametrize("region", ["UK", "US", "EU"])
def test_a_reply_never_mixes_regions(region):
    content = safety.texts()
    where = places(region)
    replies = [safety.warning_reply([sign], where) for sign in content.red_flags]
    replies += [
        safety.reminder(Memory((sign,), content.red_flags[sign].level), where) or "" for sign in content.red_flags
    ]
    replies += [content.levels["emergency"].closing]
    everything = "\n".join(replies)
    for other, terms in REGION_TERMS.items():
        for term in terms:
            assert mentions(everything, term) == (other == region), (region, term)


def test_the_clinic_region_sets_the_emergency_number():
    assert places("UK")["emergency_number"] == "999"
    assert places("US")["emergency_number"] == "911"
    assert places("EU")["emergency_number"] == "112"


def test_emergency_and_same_day_replies_say_not_to_massage():
    for sign in ("breathless_chest_pain", "calf_clot", "sudden_injury"):
        reply = safety.warning_reply([sign], places("UK")).lower()
        assert "do not massage" in reply and ("999" in reply or "a&e" in reply)
    assert "do not massage" not in safety.warning_reply(["tingling"], places("UK")).lower()


# ------------------------------------------------------------- plain words


def _syllables(word: str) -> int:
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:
        return 1 if w else 0
    w = re.sub(r"(?:[^laeiouy]es|ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]{1,2}", w)))


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?:])\s+|\n+", text) if re.search(r"[A-Za-z]", s)]


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'&-]*|\d+", text)


def flesch_kincaid_grade(text: str) -> float:
    words = _words(text)
    syllables = sum(_syllables(w) for w in words)
    return 0.39 * len(words) / len(_sentences(text)) + 11.8 * syllables / len(words) - 15.59


def every_text(region: str = "UK") -> dict[str, str]:
    content = safety.texts()
    where = places(region)
    out = {}
    for level in content.levels.values():
        for key in ("action", "care", "reminder", "closing"):
            if getattr(level, key):
                out[f"levels.{level.id}.{key}"] = _fill(getattr(level, key), where, what="the swollen, painful leg")
    out.update({f"red_flags.{s.id}.reason": _fill(s.reason, where) for s in content.red_flags.values()})
    out.update({f"contraindications.{p.id}": p.text for p in content.contraindications.values()})
    for key in ("clinic_line", "cleared", "precaution_intro", "precaution_reminder", "precaution_outro"):
        out[key] = _fill(getattr(content, key), where)
    return out


def test_texts_are_short_and_plain():
    """Flesch-Kincaid grade 8 or lower for every text, no sentence longer than 25 words."""
    grades = {key: flesch_kincaid_grade(text) for key, text in every_text().items()}
    print(
        f"\nsafety.yml readability: Flesch-Kincaid grade at most {max(grades.values()):.1f} "
        f"({max(grades, key=grades.get)}), mean {sum(grades.values()) / len(grades):.1f}"
    )
    hard = {k: round(g, 1) for k, g in grades.items() if g > 8.0}
    assert not hard, hard
    long = {k: s for k, t in every_text().items() for s in _sentences(t) if len(_words(s)) > 25}
    assert not long, long


def test_technical_terms_only_in_brackets_after_a_plain_one():
    for key, text in every_text().items():
        for term in ("pulmonary embolism", "DVT", "sepsis", "stress fracture", "neuropathy", "osteoporosis", "Charcot"):
            for m in re.finditer(re.escape(term), text):
                inside = text.rfind("(", 0, m.start()) > text.rfind(")", 0, m.start())
                assert inside, f"{key}: {term!r} should follow a plain word, in brackets"


def test_precautions_are_one_or_two_lines():
    for p in safety.texts().contraindications.values():
        assert 1 <= len(_sentences(p.text.split(":", 1)[-1])) <= 2, p.id


def test_texts_stay_careful():
    everything = " ".join(every_text().values()).lower()
    for word in ("cure", "proven", "guarantee", "always safe", "definitely"):
        assert not re.search(rf"\b{word}\b", everything), word


# ------------------------------------------------------------------ memory


def test_memory_keeps_the_highest_level_and_every_id():
    memory = safety.remember(Memory(), read("my heel tingles"))
    assert memory == Memory(("tingling",), "soon", ())
    memory = safety.remember(memory, read("and my calf is swollen, I'm on warfarin"))
    assert memory.red_flags == ("tingling", "calf_clot") and memory.urgency == "same_day"
    assert memory.contraindications == ("anticoagulants",) and memory.holds_back
    memory = safety.remember(memory, read("thanks"))
    assert memory.urgency == "same_day"  # holds for the conversation
    assert memory.slots() == {
        "red_flags": ["tingling", "calf_clot"],
        "urgency": "same_day",
        "contraindications": ["anticoagulants"],
        "screened": [],
    }


def test_a_doctors_all_clear_empties_the_warning_signs_but_not_the_precautions():
    memory = Memory(("calf_clot",), "same_day", ("anticoagulants",))
    cleared = safety.remember(memory, read("my doctor says it's not a clot"))
    assert cleared == Memory((), None, ("anticoagulants",)) and not cleared.holds_back
    # a new sign in the same message still counts
    again = safety.remember(memory, read("the GP checked it, it's fine. But now I'm short of breath"))
    assert again.red_flags == ("breathless_chest_pain",) and again.urgency == "emergency"


def test_memory_from_slots_tolerates_what_is_stored():
    assert Memory.from_slots(None, None, None) == Memory()
    assert Memory.from_slots(["calf_clot", "gone_id"], None, "pregnancy") == Memory(
        ("calf_clot",), "same_day", ("pregnancy",)
    )
    assert Memory.from_slots([], "nonsense", []) == Memory()
    assert Memory.from_slots(["tingling"], "emergency", []).urgency == "emergency"


def test_a_soon_sign_gets_its_advice_but_holds_nothing_back():
    advice = safety.advise(read("my toes keep tingling"), Memory(), places("UK"), topic="self_massage")
    assert advice.opening[0].startswith("Please see your GP")
    assert advice.hold_back is False and advice.closing is None
    later = safety.advise(read("how do I massage it?"), advice.memory, places("UK"), topic="self_massage")
    assert later.opening == [] and later.hold_back is False


def test_a_remembered_warning_repeats_in_one_line_and_holds_back():
    before = safety.advise(read("my left calf is swollen and hot"), Memory(), places("UK")).memory
    advice = safety.advise(read("how do I massage it then?"), before, places("UK"), topic="self_massage")
    assert advice.hold_back is True
    assert advice.opening == [
        "Reminder: please get the swollen, painful leg checked today. See your GP or go to A&E. No massage until then."
    ]
    assert "\n" not in advice.opening[0]


def test_after_an_emergency_the_closing_line_fits_it():
    advice = safety.advise(read("I can't breathe properly"), Memory(), places("US"))
    assert advice.closing == safety.texts().levels["emergency"].closing
    assert "before you start" not in advice.closing and "doctor" in advice.closing
    assert safety.advise(read("my calf is swollen"), Memory(), places("US")).closing is None


def test_cleared_is_acknowledged_only_when_something_was_remembered():
    content = safety.texts()
    advice = safety.advise(read("A&E said it's only a sprain"), Memory(("sudden_injury",), "same_day"), places("UK"))
    assert advice.cleared and advice.opening == [content.cleared] and advice.hold_back is False
    nothing = safety.advise(read("A&E said it's only a sprain"), Memory(), places("UK"))
    assert not nothing.cleared and nothing.opening == []


def test_precautions_carried_by_the_answers_that_need_them():
    content = safety.texts()
    memory = Memory((), None, ("diabetes_neuropathy",))
    advice = safety.advise(read("how do I massage my arch?"), memory, places("UK"), topic="self_massage")
    assert advice.opening == [
        f"{content.precaution_reminder}\n- {content.contraindications['diabetes_neuropathy'].text}"
    ]
    assert advice.hold_back is False  # a precaution does not hold anything back
    assert safety.advise(read("what are the benefits?"), memory, places("UK"), topic="benefits").opening == []
    # told in this message: ask to check with the doctor, and to tell the therapist
    new = safety.advise(read("I'm diabetic, can I roll my foot?"), Memory(), places("UK"), topic="self_massage")
    assert new.opening[0].startswith(content.precaution_intro) and new.opening[0].endswith(content.precaution_outro)


# ---------------------------------------------------------- content errors


@pytest.fixture
def safety_data():
    return yaml.safe_load(SAFETY_FILE.read_text(encoding="utf-8"))


def write(tmp_path, data) -> Path:
    path = tmp_path / "safety.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def test_shipped_content_loads():
    lexicon = load_lexicon()
    content = safety.load_content(SAFETY_FILE, lexicon)
    assert list(content.red_flags) == lexicon.ids("red_flag")
    assert list(content.contraindications) == lexicon.ids("contraindication")
    assert set(content.precaution_topics) == {"self_massage", "procedure", "preparation"}


@pytest.mark.parametrize(
    "mutate, key, problem",
    [
        (lambda d: d.update(version=1), "version", "must be 2"),
        (lambda d: d["levels"].pop("soon"), "levels", "must list exactly"),
        (lambda d: d["levels"]["soon"].update(action="See a doctor. Soon."), "levels.soon.action", "one sentence"),
        (lambda d: d["levels"]["same_day"].update(action="Go to A&E today."), "levels.same_day.action", "'A&E'"),
        (lambda d: d["levels"]["emergency"].update(action="Call 911 now."), "levels.emergency.action", "'911'"),
        (lambda d: d["levels"]["soon"].update(care="See your GP."), "levels.soon.care", "'GP'"),
        (lambda d: d["levels"]["soon"].update(action="Call {fax}."), "levels.soon.action", "unknown placeholder {fax}"),
        (lambda d: d["levels"]["same_day"].pop("reminder"), "levels.same_day.reminder", "non-empty text"),
        (lambda d: d["levels"]["same_day"].update(holds_back="yes"), "levels.same_day.holds_back", "true or false"),
        (lambda d: d["levels"]["soon"].update(sources=[]), "levels.soon.sources", "web addresses"),
        (lambda d: d["levels"]["emergency"].update(closing="Get help now."), "levels.emergency.closing", "doctor"),
        (
            lambda d: d["red_flags"]["fever"].update(level="urgent"),
            "red_flags.fever.level",
            "emergency, same_day, soon",
        ),
        (lambda d: d["red_flags"]["fever"].update(reason=""), "red_flags.fever.reason", "non-empty text"),
        (lambda d: d["red_flags"]["fever"].update(sources=["nhs.uk"]), "red_flags.fever.sources", "web addresses"),
        (lambda d: d["red_flags"]["fever"].pop("sources"), "red_flags.fever.sources", "web addresses"),
        (lambda d: d["red_flags"]["fever"].update(colour="red"), "red_flags.fever.colour", "not a known key"),
        (
            lambda d: d["contraindications"]["pregnancy"].update(precaution="call {emergency_number}"),
            "contraindications.pregnancy.precaution",
            "unknown placeholder",
        ),
        (
            lambda d: d["contraindications"]["pregnancy"].pop("sources"),
            "contraindications.pregnancy.sources",
            "web addresses",
        ),
        (lambda d: d.update(precaution_topics=["massage"]), "precaution_topics", "'massage' is not a topic"),
        (
            lambda d: d["contraindications"]["pregnancy"].update(answered_by="pregnant"),
            "contraindications.pregnancy.answered_by",
            "must be a topic id",
        ),
        (lambda d: d.update(extra="x"), "extra", "not a known key"),
    ],
)
def test_content_errors_name_file_and_key(tmp_path, safety_data, mutate, key, problem):
    mutate(safety_data)
    path = write(tmp_path, safety_data)
    with pytest.raises(ContentError) as error:
        safety.load_content(path)
    assert error.value.key == key, str(error.value)
    assert problem in str(error.value) and str(path) in str(error.value)


def test_content_and_lexicon_must_name_the_same_ids(tmp_path, safety_data):
    data = copy.deepcopy(safety_data)
    data["red_flags"].pop("fever")
    with pytest.raises(
        ContentError, match=r"red_flags\.fever: is missing \(red_flag\.fever is defined in .*lexicon\.yml\)"
    ):
        safety.load_content(write(tmp_path, data), load_lexicon())


@pytest.mark.parametrize("section, category", [("red_flags", "red_flag"), ("contraindications", "contraindication")])
def test_an_id_worded_but_not_in_the_lexicon_names_the_lexicon(tmp_path, safety_data, section, category):
    data = copy.deepcopy(safety_data)
    data[section]["new_one"] = next(iter(data[section].values()))
    with pytest.raises(ContentError) as error:
        safety.load_content(write(tmp_path, data), load_lexicon())
    assert error.value.key == f"{category}.new_one" and "lexicon.yml" in error.value.path
    assert f"is missing ({section}.new_one is defined in" in str(error.value)


def test_safety_check_cli_passes_on_the_content_files(capsys):
    assert safety_cli.main() == 0
    assert "the same as the lexicon's" in capsys.readouterr().out


def test_broken_content_file(tmp_path):
    with pytest.raises(ContentError, match="not valid YAML"):
        safety.load_content(write(tmp_path, "levels: ["))
    with pytest.raises(ContentError, match="file not found"):
        safety.load_content(tmp_path / "nope.yml")
