"""The website widget on a phone (375 x 740): full screen, short answers, "Tell me more".

Debian's Chromium driven by Playwright, with the demo clinic page and the
servers of tests/test_widget.py. The patient opens the widget, asks a
question, reads the short answer, presses "Tell me more" and reads the
details; nothing on the way scrolls sideways.

WIDGET_SCREENSHOT=docs/widget.png also saves the picture shown in the README
(a phone's screen with a short answer and its buttons).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from actions.dialogue import shown
from footcare_testing.servers import ROOT
from tests.test_widget import (  # noqa: F401  (fixtures)
    KB,
    TIMEOUT,
    after_layout,
    ask,
    assert_one_bubble_a_paragraph,
    bot_bubbles,
    browser,
    doctor_bubbles,
    paragraphs,
    settle,
    site,
    widget_tab,
)

PHONE = {"width": 375, "height": 740}
MORE = KB.messages["more_button"]


@pytest.fixture(scope="module")
def phone(browser, site):  # noqa: F811
    """One patient's phone with the widget open, shared by the tests of this module (each of them
    works whichever ran before it)."""
    yield from widget_tab(browser, site, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        "e => { const r = e.getBoundingClientRect(); "
        "return {top: r.top, left: r.left, width: r.width, height: r.height}; }"
    )


def assert_no_sideways_scrolling(page) -> None:
    widths = page.evaluate("""() => {
        const messages = document.querySelector('.rw-messages-container');
        return {page: document.scrollingElement.scrollWidth, view: window.innerWidth,
                messages: messages.scrollWidth, messagesView: messages.clientWidth};
    }""")
    assert widths["page"] <= widths["view"] == PHONE["width"], widths
    assert widths["messages"] <= widths["messagesView"], widths
    for bubble in page.locator(".rw-messages-container .rw-response, .rw-replies .rw-reply").all():
        right = bubble.evaluate("e => e.getBoundingClientRect().right")
        assert right <= PHONE["width"], (bubble.inner_text()[:60], right)


@pytest.mark.model
def test_the_widget_opens_full_screen_with_the_input_at_the_bottom(phone):
    widget = box(phone, ".rw-conversation-container")
    assert widget["top"] == 0 and widget["left"] == 0
    assert widget["width"] == PHONE["width"] and widget["height"] == PHONE["height"], widget
    sender = box(phone, ".rw-sender")
    assert sender["top"] + sender["height"] == pytest.approx(PHONE["height"], abs=1), sender
    messages = box(phone, ".rw-messages-container")
    assert messages["height"] > PHONE["height"] * 0.6, messages  # the answer gets most of the screen
    assert_no_sideways_scrolling(phone)


@pytest.mark.model
def test_a_short_answer_then_tell_me_more_gives_the_details(phone):
    topic = KB.topics["side_effects"]
    first = ask(phone, "what are the side effects of fascia massage?")
    answer = bot_bubbles(phone).all_inner_texts()[first:]
    assert_one_bubble_a_paragraph(answer, shown(topic.answer))
    assert not any(paragraphs(shown(topic.details))[0][:40] in b for b in answer)  # the details wait
    assert_no_sideways_scrolling(phone)
    # the picture for the README: the short answer on a phone's screen, down to its buttons
    phone.locator(".rw-replies").last.evaluate("e => e.scrollIntoView({block: 'end'})")
    after_layout(phone)
    target = Path(os.environ.get("WIDGET_SCREENSHOT") or ROOT / "results" / "widget.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(target))

    doctors, first = doctor_bubbles(phone).count(), bot_bubbles(phone).count()
    phone.locator(".rw-replies").last.locator(".rw-reply", has_text=MORE).click()
    expect(doctor_bubbles(phone)).to_have_count(doctors + 1, timeout=TIMEOUT)
    settle(phone)
    details = bot_bubbles(phone).all_inner_texts()[first:]
    assert_one_bubble_a_paragraph(details, shown(topic.details))
    assert not any(paragraphs(shown(topic.answer))[0] in b for b in details)
    assert MORE not in phone.locator(".rw-replies").last.all_inner_texts()[0]
    assert_no_sideways_scrolling(phone)


@pytest.mark.model
def test_a_list_shows_one_item_a_line(phone):
    topic = KB.topics["aftercare"]
    first = ask(phone, "what should i do after a session? can i drive home?")
    answer = bot_bubbles(phone).all_inner_texts()[first:]
    listed = next(p for p in paragraphs(shown(topic.answer)) if "\n•" in p)
    lines = [line.strip() for line in listed.splitlines()]
    bubble = next(b for b in answer if lines[-1] in b)
    assert [line.strip() for line in bubble.splitlines() if line.strip()] == lines
    assert_no_sideways_scrolling(phone)
    assert not phone.errors
