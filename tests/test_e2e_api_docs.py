"""The API documentation page, /docs, in Debian's headless Chromium: Swagger UI renders
from files the server itself serves, and the page asks no other host for anything. The
app answers with the fake-vector core of the HTTP tests, so it starts at once."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route, expect, sync_playwright

from server.assistant import Assistant
from server.settings import Settings
from tests.servers import LiveServer, running_server
from tests.test_e2e_web import launch_chromium
from tests.test_http_api import build_fake_assistant

pytestmark = pytest.mark.e2e
RENDER_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return build_fake_assistant(tmp_path_factory.mktemp("docs"))


@pytest.fixture(scope="module")
def live(core: Assistant) -> Iterator[LiveServer]:
    settings = Settings.of(store=Path("unused"), rate_limit_per_minute=0)
    with running_server(settings, assistant_factory=lambda: core) as server:
        yield server


def test_docs_render_swagger_ui_without_leaving_the_server(live: LiveServer) -> None:
    requested: list[str] = []

    def only_loopback(route: Route) -> None:
        # Recorded by the request listener; refused here, so the test reaches no one.
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.route("**/*", only_loopback)
        page.goto(f"{live.url}/docs")
        chat = page.locator(".opblock-summary-path", has_text="/chat").first
        expect(chat).to_be_visible(timeout=RENDER_TIMEOUT_MS)
        page.wait_for_load_state("networkidle")
        browser.close()
    assert f"{live.url}/openapi.json" in requested
    inline = {"data", "blob"}  # made in the page itself, no request leaves it
    fetched = [url for url in requested if urlsplit(url).scheme not in inline]
    assert [url for url in fetched if urlsplit(url).hostname != "127.0.0.1"] == []


def test_the_docs_need_no_key_when_the_api_does(core: Assistant) -> None:
    """The API's description is public (a browser opening /docs sends no key); its script
    and style sit under /static/, which the guards leave open too."""
    guarded = Settings.of(store=Path("unused"), api_key="k")  # type: ignore[arg-type]
    with running_server(guarded, lambda: core, {"Authorization": "Bearer k"}) as server:
        assert server.get("/openapi.json")[0] == 200
        assert server.get("/chat")[0] == 401, "the answering endpoints still need the key"
        status, page = server.get("/docs")
        assert status == 200
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            url = next(part for part in page.split('"') if part.endswith(asset))
            assert url.startswith("/static/"), url
            assert server.get(url)[0] == 200, url
