"""End to end through the chat page: a real uvicorn server (the real embedding model, a
real Chroma store, the bundled corpus) driven by Debian's headless Chromium. Offline."""

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    Locator,
    Page,
    Playwright,
    Request,
    Route,
    expect,
    sync_playwright,
)

from server.settings import Settings
from tests.fake_llm import MODEL, FakeLlmServer, Reply
from tests.servers import LiveServer, running_server
from tests.test_e2e_cli import REMAINS_PLACE

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 30_000


@contextmanager
def isolated_process_env(workdir: Path) -> Iterator[None]:
    """Settings read SUMMIT_* and ./.env: none of the developer's may leak into a server."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("SUMMIT_"):
                patch.delenv(name)
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.chdir(workdir)
        yield


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-web") / "store"


@pytest.fixture(scope="module")
def live(store_dir: Path) -> Iterator[LiveServer]:
    """The real app over an empty store: it ingests the bundled corpus while starting."""
    with (
        isolated_process_env(store_dir.parent),
        running_server(Settings.of(store=store_dir, rate_limit_per_minute=0)) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def live_with_key(live: LiveServer, store_dir: Path) -> Iterator[LiveServer]:
    """A second app that needs an API key, answering with the first app's loaded assistant
    (the same store and model), so it starts at once."""
    settings = Settings.of(store=store_dir, rate_limit_per_minute=0, api_key="k")
    with (
        isolated_process_env(store_dir.parent),
        running_server(
            settings,
            lambda: live.app.state.runtime.assistant,
            headers={"Authorization": "Bearer k"},
        ) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A desktop-sized page; an uncaught script error on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    script_errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: script_errors.append(str(error)))
        yield page
    finally:
        context.close()
    assert script_errors == []


# ---------------------------------------------------------------- helpers


def ask(page: Page, question: str) -> Locator:
    """Types the question, sends it with Enter and waits for the answer to finish."""
    before = page.locator(".turn.assistant").count()
    box = page.locator("#message")
    box.focus()
    page.keyboard.type(question)
    page.keyboard.press("Enter")
    turn = page.locator(".turn.assistant").nth(before)
    expect(turn).to_have_attribute("data-done", "true", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#send")).to_be_enabled()
    return turn


def chat_requests(page: Page) -> list[dict[str, object]]:
    bodies: list[dict[str, object]] = []

    def record(request: Request) -> None:
        if request.url.endswith("/chat/stream"):
            bodies.append(request.post_data_json)

    page.on("request", record)
    return bodies


# ---------------------------------------------------------------- tests


def test_a_question_streams_an_answer_whose_marker_opens_its_passage(
    live: LiveServer, page: Page
) -> None:
    page.goto(live.url)
    expect(page.locator("#store-info")).to_contain_text("1 document")
    turn = ask(page, "Where was the summit held?")

    assert turn.get_attribute("data-state") == "answered"
    expect(turn.locator(".answer-text")).to_contain_text("Nara")
    expect(turn.locator(".sources-label")).to_have_text("Sources")
    assert turn.locator("details.citation").count() >= 1
    expect(page.locator("#message")).to_have_value("")
    expect(page.locator("#message")).to_be_focused()

    passage = turn.locator("details.citation[data-n='1'] .passage")
    expect(passage).to_be_hidden()
    marker = turn.locator(".answer-text .cite-ref[data-n='1']")
    marker.focus()
    page.keyboard.press("Enter")
    expect(turn.locator("details.citation[data-n='1']")).to_have_attribute("open", "")
    expect(turn.locator("details.citation[data-n='1'] summary")).to_be_focused()
    expect(passage).to_be_visible()
    expect(passage).to_contain_text("Nara")
    expect(turn.locator("details.citation[data-n='1'] .source")).to_contain_text("nara-summit.md")

    page.keyboard.press("Enter")  # the focused summary toggles its footnote closed again
    expect(passage).to_be_hidden()


def test_shift_enter_adds_a_line_and_sends_nothing(live: LiveServer, page: Page) -> None:
    page.goto(live.url)
    page.locator("#message").focus()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(page.locator("#message")).to_have_value("first line\nsecond line")
    assert page.locator(".turn").count() == 0


def test_a_follow_up_is_answered_from_the_conversation(live: LiveServer, page: Page) -> None:
    sent = chat_requests(page)
    page.goto(live.url)
    first = ask(page, "Where were the remains found?")
    expect(first.locator(".answer-text")).to_contain_text(re.compile(REMAINS_PLACE))

    follow_up = ask(page, "What analysis will be done on them?")
    assert follow_up.get_attribute("data-state") == "answered"
    expect(follow_up.locator(".answer-text")).to_contain_text("DNA")
    assert sent[0]["history"] == []
    history = sent[1]["history"]
    assert isinstance(history, list) and [t["role"] for t in history] == ["user", "assistant"]
    assert history[0]["content"] == "Where were the remains found?"
    assert re.search(REMAINS_PLACE, str(history[1]["content"]))


def test_an_off_topic_question_shows_the_closest_passages(live: LiveServer, page: Page) -> None:
    page.goto(live.url)
    turn = ask(page, "What is the tallest mountain in Africa?")

    assert turn.get_attribute("data-state") == "not-answered"
    expect(turn.locator(".answer-text")).to_contain_text("do not answer")
    expect(turn.locator(".sources-label")).to_have_text("Closest passages")
    assert turn.locator("details.citation").count() >= 1
    assert turn.locator(".cite-ref").count() == 0


def test_a_phone_screen_has_no_horizontal_scroll(live: LiveServer, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(live.url)
        turn = ask(page, "Where was the summit held?")
        turn.locator("details.citation summary").first.click()
        expect(turn.locator("details.citation .passage").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("#send").bounding_box()["x"] + 10 <= 375
    finally:
        context.close()


def test_the_page_asks_for_the_api_key_and_then_answers(
    live_with_key: LiveServer, page: Page
) -> None:
    page.goto(live_with_key.url)
    page.locator("#message").fill("Where was the summit held?")
    page.locator("#send").click()

    key = page.locator("#api-key")
    expect(key).to_be_visible()
    expect(key).to_be_focused()
    expect(page.locator("#status")).to_contain_text("API key")
    page.keyboard.type("wrong")
    page.keyboard.press("Enter")
    expect(page.locator("#key-help")).to_contain_text("not accepted")
    page.keyboard.type("k")
    page.keyboard.press("Enter")

    turn = page.locator(".turn.assistant").first
    expect(turn).to_have_attribute("data-done", "true", timeout=ANSWER_TIMEOUT_MS)
    expect(turn.locator(".answer-text")).to_contain_text("Nara")
    expect(page.locator("#key-form")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('summit-assistant.api-key')") == "k"

    again = ask(page, "Where were the remains found?")  # the stored key is reused
    expect(again.locator(".answer-text")).to_contain_text(re.compile(REMAINS_PLACE))
    expect(page.locator("#key-form")).to_be_hidden()


def sse(*events: tuple[str, object]) -> str:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


HOSTILE = {
    "n": 1,
    "doc_id": "d",
    "chunk_id": "c",
    "source": "/docs/<script>window.pwned = 1</script>.md",
    "title": "<b>Bold</b> title",
    "section": None,
    "page": 3,
    "text": 'Passage with <img src=x onerror="window.pwned = 1"> markup.',
    "score": 0.5,
}


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        ("network", "Could not reach the server"),
        ("traceback", "Something went wrong on the server"),
        ("error-event", "The answer was interrupted: The store is gone; try again."),
        ("cut-short", "closed before the answer was complete"),
    ],
)
def test_failures_are_polite_messages_and_the_question_comes_back(
    live: LiveServer, page: Page, reply: str, shown: str
) -> None:
    def fulfil(route: Route) -> None:
        if reply == "network":
            route.abort("failed")
        elif reply == "traceback":
            route.fulfill(status=500, body="Traceback (most recent call last):\n  boom")
        else:
            events = [("citations", {"citations": [HOSTILE]}), ("delta", {"text": "Half "})]
            if reply == "error-event":
                events.append(("error", {"detail": "The store is gone; try again."}))
            route.fulfill(status=200, content_type="text/event-stream", body=sse(*events))

    page.route("**/chat/stream", fulfil)
    page.goto(live.url)
    turn = ask(page, "Where was the summit held?")

    assert turn.get_attribute("data-state") == "error"
    expect(turn.locator(".turn-error")).to_contain_text(shown)
    expect(page.locator("#status")).to_contain_text(shown)
    assert "Traceback" not in page.locator("body").inner_text()
    expect(page.locator("#message")).to_have_value("Where was the summit held?")


def test_passages_are_shown_as_text_never_as_markup(live: LiveServer, page: Page) -> None:
    answer = {
        "question": "q",
        "answer": "It says <i>so</i>. [1]",
        "answered": True,
        "citations": [HOSTILE],
    }
    body = sse(
        ("citations", {"citations": [HOSTILE]}),
        ("delta", {"text": "It says <i>so</i>. "}),
        ("delta", {"text": "[1]"}),
        ("done", answer),
    )
    page.route(
        "**/chat/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    page.goto(live.url)
    turn = ask(page, "Where was the summit held?")
    turn.locator(".cite-ref[data-n='1']").click()

    expect(turn.locator(".answer-text")).to_have_text("It says <i>so</i>. [1]")
    expect(turn.locator(".passage")).to_have_text(HOSTILE["text"])
    expect(turn.locator(".cite-title")).to_have_text("<b>Bold</b> title")
    expect(turn.locator(".source-path")).to_have_text(HOSTILE["source"])
    assert turn.locator("img, b, i, script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_a_server_still_loading_is_asked_again_when_it_says(live: LiveServer, page: Page) -> None:
    refusals: list[str] = []

    def loading_once(route: Route) -> None:
        if refusals:
            route.continue_()
            return
        refusals.append(route.request.url)
        route.fulfill(
            status=503,
            headers={"Retry-After": "1"},
            json={"detail": "The assistant is starting; try again in a few seconds."},
        )

    page.route("**/chat/stream", loading_once)
    page.goto(live.url)
    turn = ask(page, "Where was the summit held?")

    assert len(refusals) == 1
    assert turn.get_attribute("data-state") == "answered"
    expect(turn.locator(".answer-text")).to_contain_text("Nara")


def test_a_model_answer_shows_the_checked_text_and_what_was_removed(
    live: LiveServer, store_dir: Path, page: Page
) -> None:
    invented = "The leaders rode a steam train to Osaka."

    def reply(request: dict[str, Any]) -> Reply:
        prompt = request["messages"][-1]["content"]
        n = next(m[0] for m in re.findall(r"^\[(\d+)\] (.*)$", prompt, re.M) if "in Nara" in m[1])
        return Reply(f"The summit was held in Nara, Japan [{n}]. {invented}")

    settings = Settings.of(
        store=store_dir, rate_limit_per_minute=0, backend="openai", llm_model=MODEL
    )
    with (
        FakeLlmServer(reply) as llm,
        isolated_process_env(store_dir.parent),
        running_server(settings.changed(llm_base_url=llm.base_url)) as server,
    ):
        page.goto(server.url)
        turn = ask(page, "Where was the summit held?")
        expect(turn.locator(".answer-text")).to_contain_text("Nara")
        expect(turn.locator(".answer-text")).not_to_contain_text("steam train")
        dropped = turn.locator(".answer-dropped")
        expect(dropped.locator("summary")).to_have_text(
            "1 sentence removed: no cited passage supports it"
        )
        dropped.locator("summary").click()
        expect(dropped.locator("li")).to_have_text(invented)
        assert turn.locator("details.citation").count() == 1
