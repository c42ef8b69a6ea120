"""The therapists' review report (`make review`) and the debug shell (`make shell-debug`)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import markupsafe
import pytest
import yaml

from tests.workbench_helpers import DAY, Conversation, write_store
from workbench import review as rv
from workbench.privacy import mask
from workbench.store import connect

ROOT = Path(__file__).resolve().parent.parent
NOW = time.time()
PHONE, EMAIL = "+44 7700 900123", "jane.doe@example.org"


def review_script(endpoints: Path, out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "workbench", "review", "--endpoints", str(endpoints), "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )


# ---------------------------------------------------------------- masking


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"call me on {PHONE} or {EMAIL}", "call me on [phone] or [email]"),
        ("my number is (030) 123-4567.", "my number is [phone]."),
        ("mail: J.Doe+feet@clinic.example.co.uk!", "mail: [email]!"),
        ("tel:0301234567", "tel:[phone]"),
        ("I walk 10000 steps, 3-4 times a day for 2 weeks", "I walk 10000 steps, 3-4 times a day for 2 weeks"),
        ("", ""),
    ],
)
def test_mask_hides_phone_numbers_and_email_addresses(text, expected):
    assert mask(text) == expected


# ---------------------------------------------------------------- figures, on a store made here


@pytest.fixture
def store_file(tmp_path):
    ranked = [("nlu_fallback", 0.4), ("ask_booking", 0.31), ("greet", 0.2)]
    conversations = [
        Conversation("alice-sender-123", NOW - 2 * DAY)
        .say("hi", "greet", action="action_greet")
        .say("what is fascia massage", "ask_what_is_fascia_massage", slots={"topic": "what_is_fascia_massage"})
        .say(
            "what is fascial massage exactly?",
            "ask_what_is_fascia_massage",
            0.55,
            ranked=[("ask_what_is_fascia_massage", 0.55), ("ask_benefits", 0.3)],
            slots={"topic": "what_is_fascia_massage"},
            after=30,
        ),
        Conversation("bob-sender-456", NOW - DAY)
        .say(
            f"my toes are numb, call me on {PHONE}",
            "describe_symptoms",
            slots={"topic": "symptoms", "red_flags": ["numbness"]},
        )
        .say(
            "<script>alert(1)</script> blorp zig",
            "nlu_fallback",
            0.4,
            ranked=ranked,
            action="action_fallback",
            slots={"red_flags": ["numbness"]},
        )
        .say(
            f"I take blood thinners, write to {EMAIL}",
            "ask_safety",
            slots={"topic": "safety", "contraindications": ["blood_thinners"]},
            after=400,
        )
        .say(
            "what's the weather",
            "out_of_scope",
            0.9,
            ranked=[("out_of_scope", 0.9), ("ask_booking", 0.05)],
            action="action_out_of_scope",
        )
        # the same question for another condition is not a rephrasing
        .say("side effects for heel spurs?", "ask_side_effects", slots={"topic": "side_effects"})
        .say(
            "and side effects for metatarsalgia?",
            "ask_side_effects",
            slots={"topic": "side_effects"},
            entities=[{"entity": "condition", "value": "metatarsalgia"}],
        )
        .new_session(3 * 3600)
        .say("/ask_booking", "ask_booking", 1.0, action="action_booking"),
    ]
    return write_store(tmp_path / "conversations.db", conversations)


def test_review_figures(store_file):
    review = rv.build(connect(store_file))
    assert review.conversation_count == 3  # bob's second session counts as its own conversation
    assert len(review.turns) == 10
    assert sum(review.messages_per_day().values()) == 10
    assert review.topics() == {"what_is_fascia_massage": 2, "symptoms": 1, "safety": 1, "side_effects": 2}
    assert [t.text for t in review.fallbacks()] == ["<script>alert(1)</script> blorp zig"]
    assert [t.text for t in review.out_of_scope()] == ["what's the weather"]
    assert review.red_flags() == {"numbness": 1}  # counted once, when first detected
    assert review.contraindications() == {"blood_thinners": 1}
    assert review.lowest_confidence()[0].text.startswith("<script>")
    assert review.channels() == {"rest": 10}


def test_unclear_messages_come_with_a_suggested_intent(store_file):
    unclear = {u.text: u for u in rv.build(connect(store_file)).unclear()}
    assert set(unclear) == {
        "<script>alert(1)</script> blorp zig",
        "what's the weather",
        "what is fascial massage exactly?",
    }
    fallback = unclear["<script>alert(1)</script> blorp zig"]
    assert (fallback.why, fallback.suggested, fallback.confidence) == ("fell back", "ask_booking", 0.31)
    assert unclear["what's the weather"].suggested == "ask_booking"
    assert unclear["what is fascial massage exactly?"].suggested == "ask_benefits"


def test_rephrasing_is_found_after_an_answer(store_file):
    rephrasings = rv.build(connect(store_file)).rephrasings
    assert [(r.answer, r.first.text, r.second.text) for r in rephrasings] == [
        ("What it is", "what is fascia massage", "what is fascial massage exactly?")
    ]


def test_rephrasing_heuristic():
    def turn(text, intent, when, replied=True, conditions=()):
        entities = [{"entity": "condition", "value": c} for c in conditions]
        return rv.Turn(1, when, text, intent, 0.9, [], entities, "rest", replied=replied)

    first = turn("how long does a session take", "ask_procedure", 0)
    assert rv.is_rephrasing(first, turn("how long is a session then", "ask_procedure", 20))
    assert rv.is_rephrasing(first, turn("how long does one session take", "nlu_fallback", 20))  # word overlap
    assert not rv.is_rephrasing(first, turn("how long is a session", "ask_procedure", 600))  # too late
    assert not rv.is_rephrasing(turn("yes", "affirm", 0), turn("yes", "affirm", 5))  # small talk repeats
    assert not rv.is_rephrasing(turn("hmm", "ask_procedure", 0, replied=False), turn("hmm?", "ask_procedure", 5))
    assert not rv.is_rephrasing(first, turn("/ask_procedure", "ask_procedure", 5))  # a button
    assert not rv.is_rephrasing(first, turn("and for heel spurs", "ask_procedure", 5, conditions=["heel_spur"]))


def test_report_files_show_no_sender_ids_and_mask_contact_details(store_file, tmp_path):
    out = tmp_path / "reports"
    result = review_script(store_file, out)
    assert result.returncode == 0, result.stderr
    page = (out / "review.html").read_text()
    exported = (out / "unclear_nlu.yml").read_text()
    for shown in (page, exported, result.stdout):
        for secret in ("alice-sender-123", "bob-sender-456", PHONE, EMAIL, "900123", "jane.doe"):
            assert secret not in shown
    assert "call me on [phone]" in page and "write to [email]" in page
    # user text is escaped, never markup in the therapist's browser
    assert "<script>" not in page and str(markupsafe.escape("<script>alert(1)</script> blorp zig")) in page
    assert "data:image/png;base64," in page and (out / "topics_over_time.png").read_bytes()[:4] == b"\x89PNG"
    assert oct((out / "review.html").stat().st_mode & 0o777) == "0o600"
    # the export is Rasa training data
    data = yaml.safe_load(exported)
    assert data["version"] == "3.1"
    assert {i["intent"]: i["examples"] for i in data["nlu"]} == {
        "ask_booking": "- <script>alert(1)</script> blorp zig\n- what's the weather\n",
        "ask_benefits": "- what is fascial massage exactly?\n",
    }
    # the same figures in the terminal
    for line in (
        r"conversations +3\n",
        r"user messages +10\n",
        r"fell back \(not understood\) +1 \(10%\)",
        r"numbness +1",
        r"blood_thinners +1",
        r"ask_booking \(0\.31\)",
    ):
        assert re.search(line, result.stdout), line
    assert "Wrote " in result.stdout


def test_review_of_an_empty_or_missing_store(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp_path / 'none.db'}\n")
    result = review_script(endpoints, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "No conversations stored yet." in result.stdout
    assert "No conversations stored yet." in (tmp_path / "out" / "review.html").read_text()
    endpoints.write_text("action_endpoint:\n  url: http://localhost:5055/webhook\n")
    result = review_script(endpoints, tmp_path / "out")
    assert result.returncode == 2 and "no tracker_store" in result.stderr


def test_review_period(store_file):
    review = rv.build(connect(store_file), since=NOW - 1.5 * DAY)
    assert review.conversation_count == 2 and all(t.when >= NOW - 1.5 * DAY for t in review.turns)


def test_debug_shell_summarises_a_turn():
    from workbench.debug_shell import Style, format_understanding, understanding

    events = [
        {"event": "slot", "name": "red_flags", "value": ["fever"]},
        {
            "event": "user",
            "text": "numb toes and fever, plantar fasciitis",
            "parse_data": {
                "intent": {"name": "describe_symptoms", "confidence": 0.81},
                "intent_ranking": [
                    {"name": "describe_symptoms", "confidence": 0.81},
                    {"name": "ask_safety", "confidence": 0.12},
                ],
                "entities": [
                    {"entity": "condition", "value": "plantar_fasciitis", "text": "plantar fasciitis"},
                    {"entity": "red_flag", "value": "numbness", "text": "numb"},
                ],
                "footcare_safety": {"red_flags": ["numbness"], "contraindications": [], "learned": {"tingling": 0.912}},
                "footcare_topics": ["describe_symptoms", "ask_safety"],
            },
        },
        {"event": "action", "name": "action_answer", "policy": "RulePolicy", "confidence": 1.0},
        {"event": "slot", "name": "red_flags", "value": ["fever", "numbness"]},
        {"event": "slot", "name": "topic", "value": "symptoms"},
        {"event": "bot", "text": "..."},
        {"event": "action", "name": "action_listen"},
    ]
    info = understanding(events)
    assert info["red_flags"] == ["numbness"]  # fever was already known before this message
    lines = "\n".join(format_understanding(info, Style(False)))
    assert "intent: describe_symptoms (0.81)   next: ask_safety 0.12" in lines
    assert 'condition=plantar_fasciitis ("plantar fasciitis")' in lines and 'red_flag=numbness ("numb")' in lines
    assert "red flags: numbness   contraindications: none" in lines
    assert "found by: numbness (lexicon), tingling (learned 0.91)" in lines
    assert "asks, in order: describe_symptoms, ask_safety" in lines
    assert "actions: action_answer (RulePolicy 1.00)" in lines and "slots: topic=symptoms" in lines
    assert understanding([{"event": "action", "name": "action_listen"}]) is None


# ---------------------------------------------------------------- with the real bot

NONSENSE = ("xqzv plorb wibble", "what's the weather like in Paris tomorrow?", "asdf qwerty zxcv", "I like trains")


def unclear_on_the_server(event: dict) -> bool:
    """What the report must list as unclear, judged from the server's own record of the message."""
    parse = event["parse_data"]
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    best = ranking[0]["confidence"] if ranking else parse["intent"]["confidence"]
    return parse["intent"]["name"] in ("nlu_fallback", "out_of_scope") or best < rv.LOW_CONFIDENCE


@pytest.mark.model
def test_review_of_conversations_with_the_real_bot(stack, tmp_path):
    sender, other = f"review-{uuid.uuid4().hex[:10]}", f"review-{uuid.uuid4().hex[:10]}"
    stack.say(sender, "hello")
    stack.say(sender, "how does a fascia massage session go?")
    stack.say(sender, "how does a session of fascia massage go exactly?")  # a rephrasing
    for text in NONSENSE:
        stack.say(sender, text)
    stack.say(other, f"xqzv plorb {PHONE} wibble {EMAIL}")  # unclear, so the review quotes it (masked)
    stack.say(other, "I heard a snap in my heel and now I cannot walk")
    red_flags = stack.tracker(other)["slots"].get("red_flags") or []
    assert red_flags, "the safety layer flagged nothing in a clear red-flag message"
    user_events = [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    expected_unclear = {e["text"] for e in user_events if unclear_on_the_server(e)}
    assert expected_unclear, f"the model was confident about every one of {NONSENSE}"

    out = tmp_path / "reports"
    result = review_script(stack.endpoints, out)
    assert result.returncode == 0, result.stderr
    page = (out / "review.html").read_text()
    store = connect(stack.endpoints)
    for shown in (page, result.stdout, (out / "unclear_nlu.yml").read_text()):
        assert not any(s in shown for s in store.sender_ids())
        assert PHONE not in shown and EMAIL not in shown
    assert "[phone]" in page and "[email]" in page

    review = rv.build(store)
    asked, rephrased = (
        next(t for t in review.turns if t.text == text)
        for text in ("how does a fascia massage session go?", "how does a session of fascia massage go exactly?")
    )
    assert asked.topic and asked.conversation == rephrased.conversation
    assert review.topics()[asked.topic] >= 1 + (rephrased.topic == asked.topic)
    assert any(r.second.text == rephrased.text for r in review.rephrasings)
    mine = {t.text for t in review.turns if t.conversation == asked.conversation}
    listed = {u.text: u for u in review.unclear() if u.text in mine}
    assert set(listed) == expected_unclear
    for unclear in listed.values():
        assert unclear.suggested and unclear.suggested != "nlu_fallback"
        assert str(markupsafe.escape(unclear.text)) in page
    for flag in red_flags:
        assert review.red_flags()[flag] >= 1 and flag in page
    assert "data:image/png;base64," in page


@pytest.mark.model
def test_debug_shell_shows_what_the_bot_understood(stack):
    from footcare_testing.servers import MODEL, base_env

    endpoints = stack.endpoints
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench.debug_shell",
            "--model",
            str(MODEL),
            "--endpoints",
            str(endpoints),
            "--no-color",
            "--conversation-id",
            f"debug-{uuid.uuid4().hex[:8]}",
        ],
        input="hello\nI have plantar fasciitis, what are the side effects?\n1\n/stop\n",
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert re.search(r"intent: greet \((0|1)\.\d\d\)", out), out[-3000:]
    assert "intent: ask_side_effects" in out
    assert "condition=plantar_fasciitis" in out
    assert "red flags: none" in out
    assert "actions: action_answer" in out and "slots: " in out and "topic=side_effects" in out
    assert "[1] " in out  # buttons are numbered; "1" pressed the first one
    assert out.count("intent: ") == 3
