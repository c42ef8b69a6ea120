"""footnlp: matching, negation, combinations, lexicon validation, saving/loading, Rasa."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from footcare_content.files import ContentError
from footnlp.lexicon import load_lexicon

ROOT = Path(__file__).resolve().parent.parent
LEXICON = ROOT / "content" / "lexicon.yml"


@pytest.fixture(scope="module")
def nlp():
    from footnlp.pipeline import build_pipeline

    return build_pipeline(LEXICON)


def mentions(nlp, text, label=None, include_negated=True):
    """[(concept id, negated)] of the concept spans in text."""
    doc = nlp(text)
    return [
        (s.id_, bool(s._.negated))
        for s in doc.spans["footnlp"]
        if (label is None or s.label_ == label) and (include_negated or not s._.negated)
    ]


def flags(nlp, text):
    """Red-flag ids that are present (not negated)."""
    return sorted({cid for cid, neg in mentions(nlp, text, "RED_FLAG") if not neg})


def ids(nlp, text, label=None):
    return {cid for cid, _ in mentions(nlp, text, label)}


# ------------------------------------------------------------------ stemming


@pytest.mark.parametrize(
    "forms",
    [
        ("toe", "toes", "Toes", "TOE"),
        ("tingling", "tingles", "tingled", "tingle", "Tingling"),
        ("swollen", "swelling", "swells", "swelled", "swell"),
        ("numb", "numbness", "Numbness"),
        ("hurt", "hurts", "hurting"),
        ("foot", "feet"),
        ("calf", "calves"),
        ("heel", "heels"),
        ("pop", "popped", "popping", "pops"),
        ("can't", "can\u2019t"),
    ],
)
def test_stem_joins_inflections(forms):
    from footnlp.stemming import stem

    stems = {stem(f) for f in forms}
    assert len(stems) == 1, dict((f, stem(f)) for f in forms)


def test_stem_keeps_different_words_apart():
    from footnlp.stemming import stem

    assert stem("heel") != stem("heal")
    assert stem("tendonitis") != stem("tendon")
    assert stem("red") == "red" and stem("bed") == "bed"


# ------------------------------------------------------------------- matcher


def test_matching_ignores_case(nlp):
    assert ("numbness", False) in mentions(nlp, "NUMBNESS in my TOES")
    assert ("numbness", False) in mentions(nlp, "Numbness in my toes")
    assert "toe" in ids(nlp, "NUMBNESS in my TOES", "BODY_PART")


@pytest.mark.parametrize("text", ["my toe hurts", "my toes hurt", "both big toes"])
def test_plural_and_singular(nlp, text):
    assert "toe" in ids(nlp, text, "BODY_PART")


@pytest.mark.parametrize("text", ["my heel is tingling", "heel tingles", "it tingled all day", "a tingle"])
def test_simple_inflections(nlp, text):
    assert flags(nlp, text) == ["tingling"]


@pytest.mark.parametrize("text", ["my ankle is swollen", "swelling round the ankle", "it swells up"])
def test_swollen_and_swelling(nlp, text):
    assert "swelling" in ids(nlp, text, "SYMPTOM")


@pytest.mark.parametrize(
    "text, concept",
    [
        ("constant pins and needles", "tingling"),
        ("pins-and-needles in my toes", "tingling"),
        ("Pins & needles", "tingling"),
        ("short of breath", "breathless_chest_pain"),
        ("I've lost feeling under my heel", "numbness"),
    ],
)
def test_multiword_terms(nlp, text, concept):
    assert concept in flags(nlp, text)


@pytest.mark.parametrize(
    "text, condition",
    [
        ("I have plantar fasciitis", "plantar_fasciitis"),
        ("my planter fasciitis is back", "plantar_fasciitis"),
        ("fascitis again", "plantar_fasciitis"),
        ("PF in both feet", "plantar_fasciitis"),
        ("ball of foot pain", "metatarsalgia"),
        ("metatersalgia", "metatarsalgia"),  # a typo not in the lexicon
        ("heel spurs", "heel_spur"),
        ("calcaneal spur", "heel_spur"),
        ("achillies tendonitis", "achilles_tendonitis"),
        ("Achilles tendinopathy", "achilles_tendonitis"),
    ],
)
def test_conditions_and_misspellings(nlp, text, condition):
    assert ids(nlp, text, "CONDITION") == {condition}


def test_typo_fixing_leaves_everyday_words_alone(nlp):
    assert "suspected_clot" not in ids(nlp, "what clothing should i wear")
    assert flags(nlp, "numbess in my heel") == ["numbness"]  # listed misspelling
    assert flags(nlp, "numbneess in my heel") == ["numbness"]  # typo fixed automatically


def test_entities_carry_category_and_id(nlp):
    doc = nlp("I have numbness but no fever, and plantar fasciitis")
    ents = {(e.label_, e.ent_id_, e._.negated) for e in doc.ents}
    assert ("RED_FLAG", "numbness", False) in ents
    assert ("RED_FLAG", "fever", True) in ents
    assert ("CONDITION", "plantar_fasciitis", False) in ents


def test_lookalike_phrases_hide_symptom_words(nlp):
    assert "warmth" not in ids(nlp, "my feet swell on hot days", "SYMPTOM")
    assert flags(nlp, "I soak my feet in warm water when they're swollen") == []
    assert flags(nlp, "can i pop in to book a massage") == []


# -------------------------------------------------------------- combinations


def test_a_pop_alone_is_harmless(nlp):
    assert flags(nlp, "heard a pop in my ankle") == []
    assert flags(nlp, "my ankle pops when i stretch, no pain") == []


@pytest.mark.parametrize(
    "text",
    [
        "heard a pop and can't walk",
        "heard a pop and now i cant put weight on it",
        "felt a snap in my heel and I'm unable to bear weight",
    ],
)
def test_pop_with_inability_to_bear_weight(nlp, text):
    assert "sudden_injury" in flags(nlp, text)


def test_calf_alone_is_harmless(nlp):
    assert flags(nlp, "my calf is tight after running") == []
    assert flags(nlp, "i stretch my calves every night") == []


@pytest.mark.parametrize("text", ["calf swollen and painful", "my left calf is swollen", "swelling in my right calf"])
def test_swollen_calf_is_a_flag(nlp, text):
    assert "calf_clot" in flags(nlp, text)


def test_combination_needs_non_negated_parts(nlp):
    assert flags(nlp, "my calf isn't swollen") == []
    assert flags(nlp, "heard a pop but i can walk fine") == []


def test_combination_parts_must_share_a_sentence(nlp):
    assert flags(nlp, "My calf is tight. My ankle is a bit swollen.") == []


def test_message_wide_combination(nlp):
    assert "diabetic_foot_warning" in flags(nlp, "I'm diabetic. There's a small cut on my big toe.")
    assert "diabetic_foot_warning" not in flags(nlp, "I'm not diabetic. There's a small cut on my big toe.")


def test_overridden_concept(nlp):
    found = flags(nlp, "my calf is swollen and warm")
    assert "calf_clot" in found and "hot_red_swollen_foot" not in found
    assert "hot_red_swollen_foot" in flags(nlp, "my foot is swollen and warm")


# ------------------------------------------------------------------ negation


@pytest.mark.parametrize(
    "text, concept",
    [
        ("no numbness", "numbness"),
        ("I don't have diabetes", "diabetes_neuropathy"),
        ("I dont have diabetes", "diabetes_neuropathy"),
        ("never had a fever", "fever"),
        ("not pregnant", "pregnancy"),
        ("without any tingling", "tingling"),
        ("I deny any numbness", "numbness"),
        ("free of pins and needles", "tingling"),
        ("neither numbness nor tingling", "tingling"),
        ("I haven\u2019t had any numbness", "numbness"),
    ],
)
def test_negated(nlp, text, concept):
    found = [neg for cid, neg in mentions(nlp, text) if cid == concept]
    assert found and all(found), mentions(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "no idea why but my foot is numb",
        "not sure, my foot went numb",
        "no my foot is numb",
        "No, my foot is numb",
        "i don't know why my foot is numb",
        "the numbness won't go away",
        "nothing helps the numbness",
        "there's no change in the numbness",
        "I can't feel my toes",
        "no feeling in my toes",
    ],
)
def test_not_negated(nlp, text):
    assert ("numbness", False) in mentions(nlp, text), mentions(nlp, text)


def test_scope_stops_at_but(nlp):
    found = mentions(nlp, "I have numbness but no fever", "RED_FLAG")
    assert ("numbness", False) in found and ("fever", True) in found
    found = mentions(nlp, "no fever but my foot is numb", "RED_FLAG")
    assert ("fever", True) in found and ("numbness", False) in found


@pytest.mark.parametrize(
    "text",
    [
        "no fever, my foot is numb",
        "no fever and my toes are numb",
        "not diabetic; my foot is numb",
        "no fever - my foot is numb",
        "no fever, numb toes",
    ],
)
def test_scope_stops_at_a_new_clause(nlp, text):
    found = mentions(nlp, text, "RED_FLAG")
    assert ("fever", True) in found or ("fever", False) not in found
    assert ("numbness", False) in found, found


def test_scope_covers_a_list(nlp):
    found = mentions(nlp, "no fever, chills, numbness or pins and needles", "RED_FLAG")
    assert found and all(neg for _, neg in found), found
    found = mentions(nlp, "i haven't had any kind of numbness or tingling in my toes", "RED_FLAG")
    assert found and all(neg for _, neg in found), found


def test_scope_has_a_window(nlp):
    text = "never thought much about my feet until last month when the numbness started"
    assert ("numbness", False) in mentions(nlp, text)


@pytest.mark.parametrize(
    "text",
    ["numbness? no", "Numbness? No.", "fever - none", "fever: nope", "any numbness in my toes? no"],
)
def test_negation_after_the_mention(nlp, text):
    found = mentions(nlp, text, "RED_FLAG")
    assert found and all(neg for _, neg in found), found


def test_negation_after_a_list(nlp):
    found = mentions(nlp, "fever, chills - none", "RED_FLAG")
    assert found and all(neg for _, neg in found), found
    assert ("numbness", False) in mentions(nlp, "numbness in my toes?? yes")


def test_symptom_reported_as_gone(nlp):
    assert ("tingling", True) in mentions(nlp, "the tingling in my toes has gone")
    assert ("tingling", True) in mentions(nlp, "the tingling went away after i changed shoes")
    assert ("tingling", False) in mentions(nlp, "the tingling hasn't gone away")


def test_negation_rule_directly(nlp):
    """negated_spans works on any spans, e.g. a hand-made one."""
    from spacy.tokens import Span

    from footnlp.negation import negated_spans

    doc = nlp.make_doc("there is no swelling today")
    assert negated_spans(doc, [Span(doc, 3, 4, label="SYMPTOM")]) == {0}
    doc = nlp.make_doc("there is swelling today")
    assert negated_spans(doc, [Span(doc, 2, 3, label="SYMPTOM")]) == set()


def findings(nlp, text):
    from footnlp.findings import safety_findings

    return safety_findings(nlp(text))


@pytest.mark.parametrize(
    "text, kept, negated",
    [
        ("no swelling, just tingling", "tingling", "swelling"),
        ("no swelling just tingling in my heel", "tingling", "swelling"),
        ("no fever, only numbness", "numbness", "fever"),
        ("no fever but numb toes", "numbness", "fever"),
    ],
)
def test_just_only_and_but_end_a_negation(nlp, text, kept, negated):
    found = mentions(nlp, text)
    assert (kept, False) in found and (negated, True) in found, found


def test_used_to_is_not_a_negation(nlp):
    assert findings(nlp, "I used to have clots")["contraindications"] == ["suspected_clot"]
    assert ("suspected_clot", False) in mentions(nlp, "I used to have clots")


# ------------------------------------------------------------------ time rule


@pytest.mark.parametrize(
    "text, contraindications",
    [
        ("I had a DVT ten years ago, all fine now", ["suspected_clot"]),
        ("my calf swelled up with a clot years ago, it was treated", ["suspected_clot"]),
        ("broke my foot years ago and it healed", []),
        ("had a fever last week, it's gone now", []),
        ("I ruptured my achilles in 2015, had surgery and its fine now", []),
        ("sprained my ankle last year, all fine since", []),
        ("used to get pins and needles when I was pregnant but that stopped", []),
        ("calf cramp woke me up once last week, it passed in a minute", []),
        # "now" in the question that follows is about the massage, not the operation
        ("I had an operation on my foot a year ago. Can I have fascia massage now?", []),
    ],
)
def test_a_sign_that_is_over_is_history_not_a_warning(nlp, text, contraindications):
    found = findings(nlp, text)
    assert found["red_flags"] == [], found
    assert found["contraindications"] == contraindications, found


@pytest.mark.parametrize(
    "text, red_flag",
    [
        ("had a DVT ten years ago and now my calf is puffy and painful again", "calf_clot"),
        ("I used to have clots and now my calf is swollen again", "calf_clot"),
        ("the ulcer on my heel hasnt healed in 2 months", "non_healing_wound"),
        ("sprained it years ago but now my ankle is hot, red and swollen", "hot_red_swollen_foot"),
        ("had a fever last week. Today my heel is numb", "numbness"),
        ("my calf swelling went away but came back today", "calf_clot"),
        ("my toe went black last year and it's still black", "cold_pale_blue_foot"),
    ],
)
def test_what_goes_on_now_stays_a_warning(nlp, text, red_flag):
    assert red_flag in findings(nlp, text)["red_flags"]


@pytest.mark.parametrize(
    "text",
    [
        "how do I avoid a clot on my flight next week?",
        "what are the signs of a DVT?",
        "what does a ruptured achilles feel like?",
        "can massage cause a blood clot?",
        "should someone with a fever avoid massage?",
        "if my foot ever went blue would that be an emergency?",
    ],
)
def test_a_question_in_general_is_not_a_warning(nlp, text):
    assert findings(nlp, text)["red_flags"] == []


def test_a_medicine_taken_now_counts_after_an_old_event_in_the_same_sentence(nlp):
    text = "My father is 79, he had a stroke 2 years ago and is on blood thinners."
    assert findings(nlp, text)["contraindications"] == ["anticoagulants"]


def test_status_of_each_mention(nlp):
    doc = nlp("had a fever years ago. Now my toes tingle")
    status = {s.id_: s._.status for s in doc.spans["footnlp"] if s.label_ == "RED_FLAG"}
    assert status == {"fever": "history", "tingling": "current"}


# ------------------------------------------------------------ over-triage


@pytest.mark.parametrize(
    "text",
    [
        "foot is a bit red and warm after the massage",
        "slightly swollen and warm after my massage yesterday",
        "my socks stained my toes blue",
    ],
)
def test_look_alikes_of_warning_signs(nlp, text):
    assert findings(nlp, text)["red_flags"] == []


def test_a_hot_red_swollen_foot_days_after_a_massage_still_counts(nlp):
    assert "hot_red_swollen_foot" in findings(nlp, "my foot is red hot and swollen after the massage")["red_flags"]


def test_an_insulin_injection_is_not_a_steroid_injection(nlp):
    assert findings(nlp, "I take an insulin injection every morning")["contraindications"] == ["diabetes_neuropathy"]
    assert findings(nlp, "I had a steroid injection in my heel")["contraindications"] == ["steroid_injection"]


# -------------------------------------------------------- lexicon gaps


@pytest.mark.parametrize(
    "text, red_flag",
    [
        ("my achilles just went", "sudden_injury"),
        ("felt a kick behind my ankle and nobody was there", "sudden_injury"),
        ("heel gave way and now I hobble", "sudden_injury"),
        ("landed on the kerb and heard a snap", "sudden_injury"),
        ("toes look dusky", "cold_pale_blue_foot"),
        ("foot like ice and a funny colour", "cold_pale_blue_foot"),
        ("my toe has gone purple", "cold_pale_blue_foot"),
        ("black toe", "cold_pale_blue_foot"),
        ("puffy leg and I get short of breath", "breathless_chest_pain"),
        ("my blood sugar is a mess and my foot is swollen", "diabetic_foot_warning"),
        ("diabetic and my toe is cold and has gone dark", "diabetic_foot_warning"),
        ("diabetic and my toe is cold", "diabetic_foot_warning"),
        ("a blister that oozes and I'm running a temperature", "sepsis_signs"),
        ("heel pain and I'm running a temperature", "fever"),
        ("my big toe is red and swollen", "hot_red_swollen_foot"),
        ("severe pain and swelling in my heel, no injury", "hot_red_swollen_foot"),
        ("think it's gout", "hot_red_swollen_foot"),
        ("new swelling on top of my foot since I upped my training", "stress_fracture_signs"),
        ("the back of my knee is swollen since my long flight", "calf_clot"),
        ("my thigh is swollen since my hip op", "calf_clot"),
    ],
)
def test_patients_words_for_warning_signs(nlp, text, red_flag):
    assert red_flag in findings(nlp, text)["red_flags"], findings(nlp, text)


@pytest.mark.parametrize(
    "text, contraindication",
    [
        ("I take Plavix", "anticoagulants"),
        ("I'm on Brilinta", "anticoagulants"),
        ("on prasugrel (Efient)", "anticoagulants"),
        ("I inject Clexane every day", "anticoagulants"),
        ("I'm on enoxaparin", "anticoagulants"),
        ("dalteparin injections", "anticoagulants"),
        ("tinzaparin", "anticoagulants"),
        ("I'm expecting", "pregnancy"),
        ("we're having a baby in May", "pregnancy"),
        ("I'm 20 weeks along", "pregnancy"),
        ("bun in the oven!", "pregnancy"),
        ("itchy peeling skin between my toes", "open_wound_or_infection"),
        ("I have varicose veins", "poor_circulation"),
        ("my circulation is poor, they said peripheral arterial disease", "poor_circulation"),
        ("I've got poor circulation", "poor_circulation"),
    ],
)
def test_patients_words_for_precautions(nlp, text, contraindication):
    assert contraindication in findings(nlp, text)["contraindications"]


# ------------------------------------------------------------------ typos


@pytest.mark.parametrize(
    "typo, concept",
    [
        ("fevar", "fever"),  # 5 letters, one letter changed
        ("tinglng", "tingling"),  # 7 letters, one left out
        ("numbneess", "numbness"),  # long words as before
        ("ankel", "ankle"),  # two letters swapped
    ],
)
def test_short_typos_are_fixed(nlp, typo, concept):
    assert concept in ids(nlp, f"{typo} since yesterday"), mentions(nlp, typo)


@pytest.mark.parametrize("word", ["fewer", "never", "clothing", "calls", "feeder", "snores", "tickle", "numb"])
def test_typo_fixing_never_turns_an_english_word_into_a_term(nlp, word):
    from footnlp.stemming import stem

    speller = nlp.get_pipe("footnlp_concepts").speller
    assert speller.correct(word) is None or stem(word) == speller.correct(word)


def test_four_letter_words_are_left_alone(nlp):
    speller = nlp.get_pipe("footnlp_concepts").speller
    assert speller.correct("nmub") is None and speller.correct("cakf") is None


# ------------------------------------------------------------- clearance


@pytest.mark.parametrize(
    "text",
    [
        "my doctor says it's not a clot",
        "the GP checked it, it's fine",
        "A&E said it's only a sprain",
        "the scan was clear, my doctor said",
    ],
)
def test_a_doctors_all_clear_is_found(nlp, text):
    found = findings(nlp, text)
    assert found["cleared"] is True and found["red_flags"] == [] and found["contraindications"] == []


@pytest.mark.parametrize(
    "text",
    [
        "I'll ask my GP if it's fine",
        "I haven't seen a doctor, it's probably fine",
        "it's not a clot, I hope",
        "my doctor thinks it might be a clot",
    ],
)
def test_no_all_clear_without_a_doctors_check(nlp, text):
    assert findings(nlp, text)["cleared"] is False


def test_signs_checked_by_a_doctor_are_history_and_new_ones_count(nlp):
    found = findings(nlp, "my doctor checked my swollen calf and says it's not a clot")
    assert found["cleared"] and found["red_flags"] == [] and found["contraindications"] == []
    found = findings(nlp, "A&E checked my foot after I fell and heard a crack, they said it's only a sprain")
    assert found["cleared"] and found["red_flags"] == [] and found["history"] == ["sudden_injury"]
    found = findings(nlp, "the GP checked it, all fine. But now I'm short of breath")
    assert found["cleared"] and found["red_flags"] == ["breathless_chest_pain"]


def test_health_mentions(nlp):
    assert findings(nlp, "can I book for my heel")["health"] is True
    assert findings(nlp, "I take paracetamol")["health"] is True
    assert findings(nlp, "does the physio help")["health"] is True
    assert findings(nlp, "what time do you open")["health"] is False


# ----------------------------------------------------------- lexicon files


def test_the_lexicon_is_valid():
    lexicon = load_lexicon(LEXICON)
    assert set(lexicon.ids("condition")) == {
        "plantar_fasciitis",
        "metatarsalgia",
        "heel_spur",
        "achilles_tendonitis",
    }
    assert {
        "diabetes_neuropathy",
        "anticoagulants",
        "pregnancy",
        "open_wound_or_infection",
        "recent_fracture_or_surgery",
        "suspected_clot",
        "steroid_injection",
        "cancer",
        "osteoporosis",
        "poor_circulation",
    } <= set(lexicon.ids("contraindication"))


MINIMAL_LEXICON = {
    "condition": {
        "plantar_fasciitis": {"terms": ["plantar fasciitis"]},
        "metatarsalgia": {"terms": ["metatarsalgia"]},
        "heel_spur": {"terms": ["heel spur"]},
        "achilles_tendonitis": {"terms": ["achilles tendonitis"]},
    },
    "body_part": {"calf": {"terms": ["calf"]}},
    "symptom": {"swelling": {"terms": ["swollen"]}},
    "red_flag": {"calf_clot": {"terms": ["dvt"], "combinations": [{"all_of": ["calf", "swelling"]}]}},
    "contraindication": {"pregnancy": {"terms": ["pregnant"]}},
}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def lexicon_with(**changes):
    import copy

    data = copy.deepcopy(MINIMAL_LEXICON)
    for dotted, value in changes.items():
        keys = dotted.split("__")
        target = data
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(keys[-1], None)
        else:
            target[keys[-1]] = value
    return data


def test_the_lexicon_is_the_list_of_conditions(tmp_path):
    """A condition is added in the lexicon (make validate then asks for it in the other files)."""
    from footnlp.lexicon import condition_ids

    assert condition_ids(LEXICON) == ("plantar_fasciitis", "metatarsalgia", "heel_spur", "achilles_tendonitis")
    path = write(tmp_path, "lexicon.yml", lexicon_with(condition__bunion={"terms": ["bunion"]}))
    assert condition_ids(path)[-1] == "bunion"


def test_a_minimal_lexicon_is_valid(tmp_path):
    load_lexicon(write(tmp_path, "lexicon.yml", MINIMAL_LEXICON))


@pytest.mark.parametrize(
    "changes, expected",
    [
        (
            {"red_flag__calf_clot__terms": []},
            "lexicon.yml: red_flag.calf_clot.terms: must be a non-empty list of strings",
        ),
        (
            {"red_flag__calf_clot__terms": ["dvt", 3]},
            "lexicon.yml: red_flag.calf_clot.terms: must be a non-empty list of strings",
        ),
        ({"red_flag__calf_clot__terms": ["dvt", "DVT"]}, "red_flag.calf_clot.terms[1]"),
        ({"red_flags": {}}, "lexicon.yml: red_flags: is not a known category"),
        ({"condition": {}}, "lexicon.yml: condition: must be a non-empty mapping"),
        ({"symptom__calf": {"terms": ["calf muscle"]}}, "lexicon.yml: symptom.calf: duplicates the id"),
        ({"symptom__Swelling2": {"terms": ["puffy"]}}, "lexicon.yml: symptom.Swelling2: is not a valid id"),
        (
            {"symptom__puffy": {"terms": ["swollen"]}},
            "lexicon.yml: symptom.puffy.terms[0]: ('swollen') is also a term of symptom.swelling",
        ),
        ({"symptom__swelling__synonyms": ["puffy"]}, "lexicon.yml: symptom.swelling.synonyms: is not a known key"),
        (
            {"red_flag__calf_clot__combinations": [{"all_of": ["calf", "swollen_thing"]}]},
            "lexicon.yml: red_flag.calf_clot.combinations[0].all_of: refers to unknown concept 'swollen_thing'",
        ),
        (
            {"red_flag__calf_clot__combinations": [{"all_of": ["calf"]}]},
            "lexicon.yml: red_flag.calf_clot.combinations[0].all_of: must be a list of at least two",
        ),
        (
            {"red_flag__calf_clot__combinations": [{"all_of": ["calf", "swelling"], "scope": "page"}]},
            "lexicon.yml: red_flag.calf_clot.combinations[0].scope: must be one of",
        ),
        (
            {"settings": {"combination_window": "ten"}},
            "lexicon.yml: settings.combination_window: must be a positive whole number",
        ),
        (
            {"red_flag__calf_clot__unless": ["no_such_thing"]},
            "lexicon.yml: red_flag.calf_clot.unless: refers to unknown concept 'no_such_thing'",
        ),
        (
            {"red_flag__calf_clot__combinations": [{"all_of": ["calf", "swelling"], "unless": ["nope"]}]},
            "lexicon.yml: red_flag.calf_clot.combinations[0].unless: refers to unknown concept 'nope'",
        ),
        (
            {"red_flag__calf_clot__history": "calf"},
            "lexicon.yml: red_flag.calf_clot.history: must be the id of a contraindication",
        ),
        ({"symptom__swelling__history": "pregnancy"}, "lexicon.yml: symptom.swelling.history: is only for red flags"),
        (
            {"contraindication__pregnancy__lasting": "no"},
            "lexicon.yml: contraindication.pregnancy.lasting: must be true or false",
        ),
        (
            {"red_flag__calf_clot__lasting": False},
            "lexicon.yml: red_flag.calf_clot.lasting: is only for contraindications",
        ),
    ],
)
def test_lexicon_errors_name_file_and_key(tmp_path, changes, expected):
    path = write(tmp_path, "lexicon.yml", lexicon_with(**changes))
    with pytest.raises(ContentError) as err:
        load_lexicon(path)
    assert expected in str(err.value)
    assert str(err.value).startswith(str(path)) or "lexicon.yml:" in str(err.value)


def test_lexicon_yaml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "lexicon.yml", "condition:\n  plantar_fasciitis: [oops\n")
    with pytest.raises(ContentError, match=r"lexicon\.yml: not valid YAML at line \d+"):
        load_lexicon(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ContentError, match=r"nope\.yml: file not found"):
        load_lexicon(tmp_path / "nope.yml")


def test_build_cli_reports_errors(tmp_path, capsys):
    from footnlp.build import main

    bad = write(tmp_path, "lexicon.yml", lexicon_with(red_flag__calf_clot__terms=[]))
    code = main(["--check", "--lexicon", str(bad)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("ContentError: ") and "red_flag.calf_clot.terms" in err


def test_build_cli_check_passes_on_the_content_files(capsys):
    from footnlp.build import main

    assert main(["--check"]) == 0


# ------------------------------------------------------------ save and load


def test_saved_pipeline_round_trip(tmp_path):
    import spacy

    from footnlp.pipeline import build_pipeline, save_pipeline, saved_pipeline_status

    out = save_pipeline(build_pipeline(LEXICON), tmp_path / "spacy_footcare")
    loaded = spacy.load(out)
    assert loaded.pipe_names == [
        "footnlp_normalizer",
        "footnlp_concepts",
        "footnlp_negation",
        "footnlp_combinations",
    ]
    assert flags(loaded, "I have numbness but no fever") == ["numbness"]
    assert flags(loaded, "left calf is swollen and warm") == ["calf_clot"]
    assert saved_pipeline_status(out, LEXICON) == "fresh"
    other = write(tmp_path, "lexicon.yml", MINIMAL_LEXICON)
    assert saved_pipeline_status(out, other) == "stale"
    assert saved_pipeline_status(tmp_path / "missing", LEXICON) == "missing"


def test_load_pipeline_builds_when_saved_copy_is_missing(tmp_path):
    from footnlp.pipeline import load_pipeline

    nlp = load_pipeline(model_path=tmp_path / "missing", lexicon_path=LEXICON)
    assert flags(nlp, "my foot went numb") == ["numbness"]


def test_import_is_cheap_and_spacy_finds_the_components_afterwards(tmp_path):
    from footnlp.pipeline import build_pipeline, save_pipeline

    out = save_pipeline(build_pipeline(LEXICON), tmp_path / "model")
    code = textwrap.dedent(
        f"""
        import sys
        import footnlp
        assert "spacy" not in sys.modules, "importing footnlp must not import spacy"
        import spacy
        nlp = spacy.load({str(out)!r}, disable=["parser"])
        doc = nlp("no fever but my foot is numb")
        print(sorted((e.ent_id_, e._.negated) for e in doc.ents if e.label_ == "RED_FLAG"))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "[('fever', True), ('numbness', False)]" in result.stdout


# ---------------------------------------------------------------------- Rasa


def test_rasa_component_adds_non_negated_entities(nlp):
    from rasa.nlu.constants import SPACY_DOCS
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from footnlp.rasa_component import FootcareEntityExtractor

    extractor = FootcareEntityExtractor(FootcareEntityExtractor.get_default_config())
    text = "I have plantar fasciitis and numbness but no fever, and I'm on warfarin"
    already = {
        "entity": "condition",
        "value": "plantar_fasciitis",
        "start": 7,
        "end": 24,
        "extractor": "RegexEntityExtractor",
    }
    message = Message(data={TEXT: text, SPACY_DOCS[TEXT]: nlp(text.lower()), ENTITIES: [already]})
    extractor.process([message])
    entities = message.get(ENTITIES)
    found = {(e["entity"], e["value"]) for e in entities if e["extractor"] == "FootcareEntityExtractor"}
    assert found == {("red_flag", "numbness"), ("contraindication", "anticoagulants")}
    numb = next(e for e in entities if e["value"] == "numbness")
    assert text[numb["start"] : numb["end"]] == "numbness" and numb["confidence"] == 1.0
    assert len([e for e in entities if e["entity"] == "condition"]) == 1  # not added twice
    # the safety findings ride along in the parse data for the action server
    assert message.get("footcare_safety") == {
        "red_flags": ["numbness"],
        "contraindications": ["anticoagulants"],
        "history": [],
        "cleared": False,
        "health": True,
    }
    quiet = Message(data={TEXT: "thanks", SPACY_DOCS[TEXT]: nlp("thanks")})
    extractor.process([quiet])
    assert quiet.get("footcare_safety") == {
        "red_flags": [],
        "contraindications": [],
        "history": [],
        "cleared": False,
        "health": False,
    }
    assert "footcare_safety" in quiet.as_dict(only_output_properties=True)


def test_rasa_component_without_a_doc_that_lines_up(nlp):
    """A doc whose offsets would not line up with the text (lowercasing "İ" makes two characters), or none: the
    extractor runs the pipeline SpacyNLP provides on the text once and keeps the doc for the components after it."""
    import pytest
    from rasa.nlu.constants import SPACY_DOCS
    from rasa.nlu.utils.spacy_utils import SpacyModel
    from rasa.shared.nlu.constants import ENTITIES, TEXT
    from rasa.shared.nlu.training_data.message import Message

    from footnlp.rasa_component import FOOTNLP_DOC, FootcareEntityExtractor, footnlp_doc

    runs = []

    def counted(text):
        runs.append(text)
        return nlp(text)

    extractor = FootcareEntityExtractor({})
    text = "İstanbul trip: heel spur, and my calf is swollen"
    message = Message(data={TEXT: text, SPACY_DOCS[TEXT]: nlp(text.lower())})
    assert len(text.lower()) != len(text)
    extractor.process([message], SpacyModel(model=counted, model_name="footnlp"))
    found = {(e["entity"], e["value"]) for e in message.get(ENTITIES)}
    assert found == {("condition", "heel_spur"), ("red_flag", "calf_clot")}
    assert runs == [text] and message.get(FOOTNLP_DOC).text == text
    assert footnlp_doc(message) is message.get(FOOTNLP_DOC)  # the warning-sign classifier reads the same doc
    with pytest.raises(ValueError, match="needs SpacyNLP"):
        extractor.process([Message(data={TEXT: "heel spur"})])


def test_didnt_feel_is_not_dont_feel(nlp):
    # "a blister I didn't feel" is a wound not felt; "I don't feel ill" is a negation
    assert "numb_feeling" in ids(nlp, "found a blister I didn't feel")
    assert "numb_feeling" not in ids(nlp, "I don't feel ill though")
    assert ("unwell", True) in mentions(nlp, "I don't feel ill though")


@pytest.mark.parametrize(
    "text, concept",
    [
        ("my GP wants to check for neuropathy", "diabetes_neuropathy"),
        ("had the blood tests for gout last week", "gout"),
        ("they tested me for a clot", "suspected_clot"),
    ],
)
def test_a_check_for_something_names_no_finding(nlp, text, concept):
    assert (concept, True) in mentions(nlp, text), mentions(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "I had a gout flare in my big toe back in March, no attacks since",
        "got cellulitis in my foot last summer, antibiotics sorted it",
        "the cortisone shot made my heel red and warm for a day, now it's fine",
        "my son had a fever last week with a virus, he's better now",
        "had a fever on monday but that's gone",
    ],
)
def test_what_is_over_raises_no_flag(nlp, text):
    from footnlp.findings import safety_findings

    assert safety_findings(nlp(text))["red_flags"] == [], mentions(nlp, text)


@pytest.mark.parametrize(
    "text, concept",
    [
        ("my foot has gone a funny colour and it is cold", "cold_pale_blue_foot"),  # "gone" + colour is not "gone"
        ("the feeling has gone in my toes", "numbness"),
        ("temp 38.7 and my heel hurts", "fever"),
        ("my achilles is completely torn the doctor said", "sudden_injury"),
        ("my calf is tender and swollen after my hysterectomy", "calf_clot"),
    ],
)
def test_everyday_and_medical_wording(nlp, text, concept):
    assert concept in flags(nlp, text), mentions(nlp, text)


@pytest.mark.parametrize(
    "text",
    [
        "my foot went to sleep sitting on it and I had pins and needles for a minute",
        "sore heels after football, fine at rest",
        "the heel pain is there when I first get up in the night to go to the loo",
        "the podiatrist cut his nails and said his feet are fine, he is diabetic",
        "my toenail is a bit black from running downhill",
        "my feet go red after a hot shower",
        "started running again and my heel hurts in the mornings",
        "I'm 40 and my temperature is normal",
    ],
)
def test_look_alikes_in_real_posts(nlp, text):
    assert flags(nlp, text) == [], mentions(nlp, text)


COMPONENTS = ("footnlp_normalizer", "footnlp_concepts", "footnlp_negation", "footnlp_combinations")


@pytest.mark.parametrize("module", [None, "concepts", "combinations", "findings"])
def test_a_new_spacy_language_registers_every_component(module, tmp_path):
    """Any new spaCy Language registers all four, whichever footnlp module was imported first (or none).

    Run isolated (-I) from another folder: only the installed project's entry points can help."""
    code = (
        (f"import footnlp.{module}\n" if module else "") + "import spacy\n"
        "from spacy.language import Language\n"
        "spacy.blank('en')\n"
        f"names = {COMPONENTS!r}\n"
        "assert all(Language.has_factory(n) for n in names), [n for n in names if not Language.has_factory(n)]\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_built_pipeline_loads_in_a_process_that_never_imported_footnlp(tmp_path):
    """`spacy.load("build/spacy_footcare")` (what Rasa's SpacyNLP does) finds footnlp's components
    through the spacy_factories entry points of pyproject.toml, with no `import footnlp` first."""
    built = tmp_path / "spacy_footcare"  # built here, as make train builds it, so the test never waits for a training
    build = subprocess.run(
        [sys.executable, "-m", "footnlp.build", "--out", str(built)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    code = textwrap.dedent(
        f"""
        import sys
        import spacy
        assert not any(m == "footnlp" or m.startswith("footnlp.") for m in sys.modules), "footnlp imported early"
        nlp = spacy.load({str(built)!r})
        print(nlp.pipe_names)
        doc = nlp("no fever but my foot is numb")
        print(sorted((e.ent_id_, e._.negated) for e in doc.ents if e.label_ == "RED_FLAG"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(list(COMPONENTS)) in result.stdout
    assert "[('fever', True), ('numbness', False)]" in result.stdout


def test_every_spacy_component_of_footnlp_has_its_entry_point():
    """A component registered in footnlp/ without its line in pyproject.toml would load nowhere but here."""
    import re
    from importlib.metadata import entry_points

    declared = {
        point.name: point.value for point in entry_points(group="spacy_factories") if point.value.startswith("footnlp.")
    }
    decorated = {}
    for path in sorted((ROOT / "footnlp").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for name, function in re.findall(r'@Language\.(?:factory|component)\("([^"]+)"[^\n]*\)\s*\ndef (\w+)', source):
            decorated[name] = f"footnlp.{path.stem}:{function}"
    assert set(decorated) == set(COMPONENTS)
    assert declared == decorated, "pyproject.toml's [project.entry-points.spacy_factories] differs (then: make install)"


def test_the_negation_cues_are_data_checked_when_read(tmp_path):
    import pytest

    from footnlp import negation

    assert ("ruled", "out") in negation.PRE_CUE_PHRASES and "without" in negation.PRE_CUES
    bad = tmp_path / "negation.yml"
    bad.write_text("pre_cues: [no, '']\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"negation.yml: pre_cues: must be a list of words or phrases"):
        negation._read_cues(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(ContentError, match="must be a mapping"):
        negation._read_cues(bad)
    with pytest.raises(ContentError, match="post_cues: missing"):
        negation._words({"pre_cues": ["no"]}, "post_cues")
