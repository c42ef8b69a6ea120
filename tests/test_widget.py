"""The website widget in a real browser: Debian's Chromium driven by Playwright.

The demo clinic page (web/serve.py, with the embed snippet a clinic copies) is
served on 127.0.0.1 next to the Rasa server, and the test chats like a
patient: open the widget, read the greeting, ask, click a button, reload.

WIDGET_SCREENSHOT=docs/widget.png also saves the picture shown in the README.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from actions import safety
from footcare_content.clinic import clinic
from footcare_content.knowledge import knowledge
from footcare_testing.servers import ROOT, DemoPage, post_json

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
KB = knowledge()
DOCTOR = KB.doctor_recommendation
TIMEOUT = 60_000  # ms, for a reply on a busy machine
expect.set_options(timeout=TIMEOUT)


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.strip().split("\n\n") if p.strip()]


GREETING = paragraphs(KB.messages["greet"].format(**clinic().placeholders()))


@pytest.fixture(scope="module")
def site(channels_stack):
    page = DemoPage(channels_stack.workdir, channels_stack.rasa.url, port=channels_stack.web_port).start()
    page.rasa = channels_stack.rasa  # the tabs read their conversations from it
    yield page
    page.stop()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_system_packages.sh (Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def widget_tab(browser, site, **context_options):
    """A patient's tab on the demo page with the widget open (page errors collected), closed after."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.rasa = site.rasa
    page.goto(site.url + "/")
    open_widget(page)
    expect(bot_bubbles(page).filter(has_text=GREETING[0])).to_have_count(1)
    settle(page)
    yield page
    context.close()


@pytest.fixture(scope="module")
def chat(browser, site):
    """One patient's browser tab with the widget open, shared by the tests of this module (each of
    them works whichever ran before it)."""
    yield from widget_tab(browser, site, viewport={"width": 1100, "height": 860})


def bot_bubbles(page):
    return page.locator(".rw-messages-container .rw-message:not(.rw-typing-indication) .rw-response")


def session_id(page) -> str:
    """The widget's conversation id in this tab (kept in sessionStorage, before its signature)."""
    found = re.search(r"[0-9a-f]{32}", page.evaluate("JSON.stringify(sessionStorage)"))
    assert found, "the widget has no session yet"
    return found.group(0)


def bubbles_sent(page) -> int:
    """Bubbles the bot has sent this tab's conversation (its stored bot messages' paragraphs)."""
    return page.rasa.stored(f"web:{session_id(page)}")[1]


def settle(page) -> None:
    """Waits until the widget shows every bubble the bot has sent (the stored conversation says how
    many) and is not typing; call it once the reply has begun to show."""
    deadline = time.monotonic() + TIMEOUT / 1000
    while time.monotonic() < deadline:
        shown = bot_bubbles(page).count()
        if not page.locator(".rw-typing-indication").count() and shown == bubbles_sent(page):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"the widget shows {bot_bubbles(page).count()} bubbles, the bot sent {bubbles_sent(page)}")


def after_layout(page) -> None:
    """Returns once the browser has drawn the page as it is now (two animation frames)."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def assert_one_bubble_a_paragraph(bubbles: list[str], text: str) -> None:
    """Every paragraph of `text` is a bubble of its own (spacing aside), and the doctor's line comes last."""
    for paragraph in paragraphs(text):
        assert any(" ".join(paragraph.split()) == " ".join(bubble.split()) for bubble in bubbles), paragraph
    assert bubbles[-1].strip() == DOCTOR


def doctor_bubbles(page):
    return bot_bubbles(page).filter(has_text=DOCTOR)


def send(page, text: str) -> None:
    box = page.locator("textarea.rw-new-message")
    box.fill(text)
    box.press("Enter")


def ask(page, text: str) -> int:
    """Sends a question and waits for an answer that ends with the doctor recommendation; returns
    the index of the first bot bubble of the answer."""
    first_new, doctors = bot_bubbles(page).count(), doctor_bubbles(page).count()
    send(page, text)
    expect(doctor_bubbles(page)).to_have_count(doctors + 1, timeout=TIMEOUT)
    settle(page)
    return first_new


def open_widget(page) -> None:
    """Opens the widget once it is connected (it stays hidden until then); a widget that was open
    before a reload opens itself from the state it keeps in sessionStorage, and is not clicked shut."""
    expect(page.locator(".rw-launcher").first).to_be_visible(timeout=TIMEOUT)
    was_open = page.evaluate("""() => {
        const kept = JSON.parse(sessionStorage.getItem("chat_session") || "{}");
        return Boolean(kept.params && kept.params.isChatOpen);
    }""")
    if not was_open:
        page.locator(".rw-launcher").first.click()
    expect(page.locator(".rw-conversation-container")).to_be_visible(timeout=TIMEOUT)


@pytest.mark.model
def test_the_page_loads_the_pinned_widget_from_the_snippet(chat, site):
    assert chat.evaluate("typeof window.WebChat && typeof window.WebChat.default") == "function"
    html = urllib.request.urlopen(site.url + "/", timeout=10).read().decode()
    snippet = (ROOT / "web" / "embed-snippet.html").read_text()
    integrity = re.search(r'integrity="([^"]+)"', snippet).group(1)
    assert f'integrity="{integrity}"' in html  # the browser checked the script against the snippet's hash
    assert "rasa-webchat@1.0.1" in snippet
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/rasa-webchat"]["version"] == "1.0.1"


@pytest.mark.model
def test_opening_the_widget_shows_the_greeting_the_disclaimer_and_buttons(browser, site):
    # a tab of its own: the shared one shows only its last answer's buttons
    context = browser.new_context(viewport={"width": 1100, "height": 860})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT)
        page.rasa = site.rasa
        page.goto(site.url + "/")
        open_widget(page)
        expect(bot_bubbles(page).filter(has_text=GREETING[-1])).to_have_count(1)
        settle(page)
        for paragraph in GREETING:
            expect(bot_bubbles(page).filter(has_text=paragraph)).to_have_count(1, timeout=TIMEOUT)
        buttons = page.locator(".rw-replies .rw-reply")
        expect(buttons.first).to_be_visible()
        titles = buttons.all_inner_texts()
        assert KB.topics["preparation"].title in titles and "Book / contact" in titles
    finally:
        context.close()


@pytest.mark.model
def test_the_widget_text_is_set_in_its_own_font_served_by_the_site(chat, site):
    """Inter, which the widget's stylesheet asks Google Fonts for, comes from the site itself."""
    family = chat.locator(".rw-conversation-container .rw-response").first.evaluate(
        "e => getComputedStyle(e).fontFamily"
    )
    assert family.startswith("Inter")
    loaded = chat.evaluate("""async () => {
        await document.fonts.ready;
        return [...document.fonts].filter(f => f.family.replace(/"/g, "") === "Inter" && f.status === "loaded")
                                  .map(f => f.weight);
    }""")
    assert "400" in loaded
    with urllib.request.urlopen(site.url + "/vendor/fonts/inter-latin-700-normal.woff2", timeout=10) as response:
        assert response.headers["Content-Type"] == "font/woff2" and response.read(4) == b"wOF2"
    for missing in ("/vendor/fonts/inter-latin-300-normal.woff2", "/vendor/fonts/../../package.json"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(site.url + missing, timeout=10)
        assert error.value.code == 404


@pytest.mark.model
def test_a_preparation_question_gets_readable_paragraphs_and_the_doctor_recommendation(chat):
    first = ask(chat, "How should I prepare for my first fascia massage session?")
    answer = bot_bubbles(chat).all_inner_texts()[first:]
    assert_one_bubble_a_paragraph(answer, KB.topics["preparation"].answer)
    # a list's lines stay on their own lines
    for paragraph in (p for p in paragraphs(KB.topics["preparation"].answer) if "\n" in p):  # a list
        lines = [line.strip() for line in paragraph.splitlines()]
        bubble = next(b for b in answer if lines[-1] in b)
        assert [line.strip() for line in bubble.splitlines() if line.strip()] == lines
    # the picture for the README: the question at the top of the widget, the answer below it
    chat.locator(".rw-messages-container .rw-client").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    after_layout(chat)
    target = Path(os.environ.get("WIDGET_SCREENSHOT") or ROOT / "results" / "widget.png")
    target.parent.mkdir(parents=True, exist_ok=True)
    chat.screenshot(path=str(target))


@pytest.mark.model
def test_clicking_a_button_asks_its_topic(chat):
    ask(chat, "What should I wear to my appointment?")
    topic = KB.topics["side_effects"]  # offered after the preparation answer
    doctors = doctor_bubbles(chat).count()
    chat.locator(".rw-replies").last.locator(".rw-reply", has_text=topic.title).click()
    expect(doctor_bubbles(chat)).to_have_count(doctors + 1, timeout=TIMEOUT)
    settle(chat)
    expect(chat.locator(".rw-messages-container .rw-client").last).to_have_text(topic.title)
    first_paragraph = paragraphs(topic.answer)[0]
    expect(bot_bubbles(chat).filter(has_text=first_paragraph).last).to_be_visible()


@pytest.mark.model
def test_a_red_flag_question_gets_urgent_advice_first(chat):
    # a "soon" sign: the advice comes first, and the shared conversation is not held back afterwards
    first = ask(chat, "My foot went numb yesterday and it still feels dead. Can I still massage it?")
    urgent = bot_bubbles(chat).nth(first).inner_text()
    assert urgent.startswith(safety.texts().levels["soon"].action.format(**clinic().placeholders()))
    assert bot_bubbles(chat).all_inner_texts()[-1].strip() == DOCTOR


@pytest.mark.model
def test_html_and_script_are_shown_as_text_never_run(chat):
    text = '<img src=x onerror="window.__pwned=1"><b>bold</b><script>window.__pwned=2</script> heel pain'
    replies = bot_bubbles(chat).count()
    send(chat, text)
    expect(bot_bubbles(chat)).not_to_have_count(replies, timeout=TIMEOUT)
    settle(chat)
    expect(chat.locator(".rw-messages-container .rw-client").last).to_contain_text("<b>bold</b>")
    assert chat.evaluate("window.__pwned") is None
    container = chat.locator(".rw-messages-container")
    assert container.locator("img[src='x'], b, script").count() == 0
    assert not chat.errors


@pytest.mark.model
def test_links_to_scripts_or_data_never_become_live_links(chat, channels_stack):
    """A reply (pushed through Rasa's HTTP API to this tab's conversation) and a message typed by the user."""
    rasa = channels_stack.rasa
    conversation = session_id(chat)
    text = (
        "Read [our page](https://clinic.example.test/heel), [click here](javascript:window.__pwned=3) "
        "or [this one](data:text/html,<script>window.__pwned=4</script>)."
    )
    before = bot_bubbles(chat).count()
    post_json(
        f"{rasa.url}/conversations/web:{conversation}/tracker/events?token={rasa.api_token}"
        "&output_channel=socketio&execute_side_effects=true",
        [{"event": "bot", "text": text}],
    )
    expect(bot_bubbles(chat)).to_have_count(before + 1)
    reply = bot_bubbles(chat).last
    expect(reply).to_contain_text("click here")
    expect(reply).to_contain_text("this one")
    assert reply.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))") == [
        "https://clinic.example.test/heel"
    ]

    replies = bot_bubbles(chat).count()
    send(chat, "[click me](javascript:window.__pwned=5) and ![x](data:image/svg+xml,<svg onload=alert(1)>)")
    expect(bot_bubbles(chat)).not_to_have_count(replies, timeout=TIMEOUT)
    settle(chat)
    container = chat.locator(".rw-messages-container")
    hrefs = container.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href') || '')")
    assert not [h for h in hrefs if h.strip().lower().startswith(("javascript:", "data:"))]
    assert container.locator("img[src^='data:']").count() == 0
    assert chat.evaluate("window.__pwned") is None and not chat.errors


@pytest.mark.model
def test_reloading_keeps_the_conversation(chat, channels_stack):
    conversation = session_id(chat)

    def user_texts() -> list[str]:
        return [e["text"] for e in channels_stack.rasa.tracker(f"web:{conversation}")["events"] if e["event"] == "user"]

    texts_before = user_texts()
    bubbles_before = bot_bubbles(chat).all_inner_texts()
    chat.reload()
    open_widget(chat)
    settle(chat)
    assert bot_bubbles(chat).all_inner_texts() == bubbles_before
    assert bot_bubbles(chat).filter(has_text=GREETING[0]).count() == 1  # no second greeting
    ask(chat, "What results can I expect in the long term?")
    assert user_texts() == texts_before + ["What results can I expect in the long term?"]


@pytest.mark.model
def test_cors_allows_only_the_configured_origin(channels_stack):
    def allowed(origin: str) -> str:
        request = urllib.request.Request(f"{channels_stack.rasa.url}/webhooks/rest/", headers={"Origin": origin})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Access-Control-Allow-Origin", "")

    assert allowed(channels_stack.origin) == channels_stack.origin
    assert allowed("https://evil.example.test") == ""


def load_serve():
    spec = importlib.util.spec_from_file_location("web_serve", ROOT / "web" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_page_embeds_the_snippet_clinics_copy():
    serve = load_serve()
    page = serve.demo_page("http://127.0.0.1:5005/")
    snippet = (ROOT / "web" / "embed-snippet.html").read_text()
    expected = snippet.replace(serve.SNIPPET_URL, "http://127.0.0.1:5005").replace(
        serve.SNIPPET_SCRIPT, serve.LOCAL_SCRIPT
    )
    assert expected in page and serve.SNIPPET_SCRIPT in snippet and serve.SNIPPET_URL in snippet
    assert 'initPayload: "/greet"' in snippet and 'storage: "session"' in snippet
    policy = serve.content_security_policy(page, "http://127.0.0.1:5005")
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005;" in policy
    assert policy.count("'sha256-") == 1 and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
