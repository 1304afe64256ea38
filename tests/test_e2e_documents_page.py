"""The chat page's Documents panel in Debian's headless Chromium, on a real server on
127.0.0.1 (the real model, the shipped reader, a real Chroma store): a PDF chosen on the page
is added, answered from with a citation of it, listed, opened and deleted; then the same
question no longer cites it. Keyboard only, and on a phone-sized screen."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from server.settings import Settings
from tests.pdfs import make_pdf
from tests.servers import LiveServer, running_server
from tests.test_e2e_web import ask, isolated_process_env, launch_chromium

pytestmark = pytest.mark.e2e

STATEMENT = "The joint statement on fisheries was signed in Gyeongju on Wednesday morning."
QUESTION = "Where was the joint statement on fisheries signed?"
JOB_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    store = tmp_path_factory.mktemp("e2e-documents") / "store"
    settings = Settings.of(store=store, rate_limit_per_minute=0, refresh_seconds=0.2)
    with isolated_process_env(store.parent), running_server(settings) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def open_panel(page: Page, url: str) -> None:
    page.goto(url)
    toggle = page.locator("#documents-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#upload-files")).to_be_focused()


def test_a_pdf_added_on_the_page_is_answered_from_then_deleted(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(make_pdf([STATEMENT]))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        open_panel(page, live.url)
        page.locator("#upload-files").set_input_files(str(pdf))
        page.locator("#upload-submit").focus()
        page.keyboard.press("Enter")
        status = page.locator("#upload-status")
        expect(status).to_contain_text("Added 1 document", timeout=JOB_TIMEOUT_MS)
        item = page.locator("#documents-list li", has_text="statement")
        expect(item).to_have_count(1)

        turn = ask(page, QUESTION)
        expect(turn.locator(".answer-text")).to_contain_text("Gyeongju")
        expect(turn.locator("details.citation[data-n='1'] .source")).to_contain_text("statement")

        item.locator(".link-button").click()
        expect(item.locator(".document-passages")).to_contain_text("Gyeongju")
        item.get_by_role("button", name="Delete").click()
        expect(status).to_contain_text("Deleted")
        expect(page.locator("#documents-list li", has_text="statement")).to_have_count(0)

        page.wait_for_timeout(1000)  # the server's refresh
        after = ask(page, QUESTION)
        expect(after.locator("details.citation .source", has_text="statement")).to_have_count(0)
    finally:
        context.close()
    assert errors == []


def test_an_unreadable_file_is_refused_with_its_reason(
    live: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    binary = tmp_path / "tool.pdf"
    binary.write_bytes(bytes(range(256)) * 8)
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        open_panel(page, live.url)
        page.locator("#upload-files").set_input_files(str(binary))
        page.locator("#upload-submit").click()
        expect(page.locator("#upload-status")).to_contain_text("not a kind of file")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375  # no sideways scrolling on a phone
    finally:
        context.close()
