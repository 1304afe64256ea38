"""The polite fetcher against a real HTTP server on 127.0.0.1: robots.txt, the User-Agent, the
pause per host, conditional requests, and each failure as a one-line reason."""

from collections.abc import Iterator

import pytest

from ingest.web.fetcher import FetchError, FetchPolicy, PoliteFetcher, Validators
from tests.web_site import WebSite, http_date, web_site

POLICY = FetchPolicy(
    user_agent="summit-assistant/test", delay_seconds=0.0, timeout_seconds=2.0,
    max_bytes=10_000, max_redirects=3,
)  # fmt: skip


@pytest.fixture
def site() -> Iterator[WebSite]:
    with web_site() as running:
        yield running


@pytest.fixture
def fetcher() -> Iterator[PoliteFetcher]:
    with PoliteFetcher(POLICY) as polite:
        yield polite


def test_a_page_is_fetched_with_the_tools_user_agent(site: WebSite, fetcher: PoliteFetcher) -> None:
    url = site.page("/a", "<p>hello</p>")
    got = fetcher.fetch(url)
    assert got.body == b"<p>hello</p>" and got.content_type.startswith("text/html")
    assert [r.headers["user-agent"] for r in site.asked("/a")] == ["summit-assistant/test"]
    assert len(site.asked("/robots.txt")) == 1  # asked first; its 404 allows everything


def test_robots_txt_is_read_once_per_host_and_honoured(
    site: WebSite, fetcher: PoliteFetcher
) -> None:
    site.page("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    open_url, private_url = site.page("/open", "yes"), site.page("/private/x", "no")
    with pytest.raises(FetchError, match=r"disallowed by robots\.txt"):
        fetcher.fetch(private_url)
    assert fetcher.fetch(open_url).body == b"yes"
    assert site.asked("/private/x") == [] and len(site.asked("/robots.txt")) == 1


def test_a_failing_robots_txt_stops_the_host(site: WebSite, fetcher: PoliteFetcher) -> None:
    site.page("/robots.txt", "oops", status=503)
    url = site.page("/a", "page")
    for _ in range(2):
        with pytest.raises(FetchError, match=r"robots.txt unavailable \(HTTP 503\)"):
            fetcher.fetch(url)
    assert site.asked("/a") == [] and len(site.asked("/robots.txt")) == 1  # once a run


def test_an_unchanged_feed_costs_one_request_and_no_body(
    site: WebSite, fetcher: PoliteFetcher
) -> None:
    url = site.feed("/feed", "<rss/>", etag='"v1"', last_modified=http_date(1_700_000_000))
    first = fetcher.fetch(url)
    assert first.validators == Validators('"v1"', http_date(1_700_000_000))
    second = fetcher.fetch(url, first.validators)
    assert second.body is None
    sent = site.asked("/feed")[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == http_date(1.7e9)


def test_requests_to_one_host_wait_their_turn(site: WebSite) -> None:
    now, slept = [100.0], []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    polite = PoliteFetcher(FetchPolicy("t", 2.0, 2.0, 10_000, 3), clock=lambda: now[0], sleep=sleep)
    with polite:
        polite.fetch(site.page("/a", "a"))  # robots.txt, then /a: one pause between them
        polite.fetch(site.page("/b", "b"))
    assert slept == [2.0, 2.0] and polite.requests == 3


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"status": 404}, "HTTP 404"),
        ({"status": 500}, "HTTP 500"),
        ({"delay_seconds": 3.0}, "timed out after 2 s"),
        ({"body": b"x" * 20_000}, "larger than 10000 bytes"),
    ],
    ids=["404", "500", "slow", "too big"],
)
def test_a_failure_is_a_short_reason(
    site: WebSite, fetcher: PoliteFetcher, route: dict[str, object], reason: str
) -> None:
    body = route.pop("body", b"page")
    url = site.page("/x", body, **route)  # type: ignore[arg-type]
    with pytest.raises(FetchError) as raised:
        fetcher.fetch(url)
    assert str(raised.value) == reason


def test_redirects_are_followed_and_bounded(site: WebSite, fetcher: PoliteFetcher) -> None:
    site.page("/moved", "", status=301, location="/here")
    site.page("/here", "arrived")
    assert fetcher.fetch(site.url + "/moved").url == site.url + "/here"
    site.page("/loop", "", status=302, location="/loop")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.fetch(site.url + "/loop")


def test_nothing_listens_is_a_connect_failure(fetcher: PoliteFetcher) -> None:
    closed = WebSite()  # bound, never started, then closed: its port refuses
    url = closed.url + "/feed"
    closed.close()
    with pytest.raises(FetchError, match=r"could not connect \(.*refused"):
        fetcher.fetch(url)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "http:///nohost"])
def test_only_http_urls_are_fetched(fetcher: PoliteFetcher, url: str) -> None:
    with pytest.raises(FetchError, match="not an http"):
        fetcher.fetch(url)
