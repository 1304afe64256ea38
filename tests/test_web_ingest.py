"""Feeds and pages from a real HTTP server on 127.0.0.1 through the real ingest pipeline (a
real Chroma store, the fake embedder): what is stored, what a second round asks for, each
failure reported on its own, and syndicated copies kept once with their outlets."""

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import CopyPolicy, IngestPipeline, WebFetch
from ingest.report import IngestReport
from ingest.web.fetcher import FetchPolicy, PoliteFetcher
from ingest.web.sources import Sources
from server.storage.chroma import open_persistent_client
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder
from tests.web_site import WebSite, web_site

POLICY = FetchPolicy("summit-assistant/test", 0.0, 2.0, 1_000_000, 3)
WORDS = (
    "minister summit treaty talks export visit leaders joint statement security supply "
    "chain tariff shuttle diplomacy agreement economy region council press briefing trade "
    "cooperation energy fisheries history apology relations bilateral framework youth"
).split()


def article_text(seed: int, sentences: int = 12) -> list[str]:
    """Paragraphs of made-up news prose: seeded, so two seeds share no run of five words."""
    rng = random.Random(seed)
    said = [
        " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(sentences)
    ]
    return [" ".join(said[i : i + 3]) for i in range(0, sentences, 3)]


def article_page(title: str, paragraphs: list[str], outlet: str, published: str, url: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html lang="en"><head><title>{title}</title>'
        f'<meta property="og:site_name" content="{outlet}">'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{url}"></head>'
        f"<body><article><h1>{title}</h1>{body}</article></body></html>"
    )


def rss(title: str, items: list[tuple[str, str, str]]) -> str:
    """A feed of (title, link, RFC 822 date) items."""
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><pubDate>{date}</pubDate></item>"
        for t, link, date in items
    )
    channel = f"<channel><title>{title}</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


@pytest.fixture
def site() -> Iterator[WebSite]:
    with web_site() as running:
        yield running


@pytest.fixture
def pipeline(tmp_path: Path) -> IngestPipeline:
    embedder = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(tmp_path / "store"), "test", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    copies = CopyPolicy(tmp_path / "copies.sqlite3", tmp_path / "fetch-state.json", 0.5)
    return IngestPipeline(
        store, embedder, chunker, tmp_path / "lexical", 8, None, tmp_path / "lock", copies
    )


def ingest(pipeline: IngestPipeline, sources: Sources, prune: bool = False) -> IngestReport:
    with PoliteFetcher(POLICY) as fetcher:
        return pipeline.ingest(sources.paths, prune, None, WebFetch(sources, fetcher))


def publish(site: WebSite, path: str, seed: int, outlet: str, day: int) -> str:
    url = site.url + path
    page = article_page(f"Story {seed}", article_text(seed), outlet, f"2026-11-{day:02d}", url)
    return site.page(path, page)


def two_feeds(site: WebSite) -> Sources:
    a1, a2 = publish(site, "/a/1", 1, "Outlet A", 1), publish(site, "/a/2", 2, "Outlet A", 2)
    b1 = publish(site, "/b/1", 3, "Outlet B", 3)
    feed_a = site.feed("/a/feed", rss("Outlet A", [("One", a1, "Sun, 01 Nov 2026 09:00:00 GMT"),
                                                   ("Two", a2, "Mon, 02 Nov 2026 09:00:00 GMT")]),
                       etag='"a-v1"')  # fmt: skip
    feed_b = site.feed("/b/feed", rss("Outlet B", [("Three", b1, "Tue, 03 Nov 2026 09:00:00 GMT")]),
                       last_modified="Tue, 03 Nov 2026 10:00:00 GMT")  # fmt: skip
    return Sources(feeds=[feed_a, feed_b])


def metadata_of(pipeline: IngestPipeline, source: str) -> dict[str, object]:
    """The metadata of the document's first chunk."""
    for _, _, metadata in pipeline.store.records(include_text=False):
        if metadata.get("source") == source and metadata.get("position") == 0:
            return dict(metadata)
    raise AssertionError(f"{source} is not stored")


def test_two_feeds_are_ingested_then_cost_one_request_each(
    site: WebSite, pipeline: IngestPipeline
) -> None:
    sources = two_feeds(site)
    first = ingest(pipeline, sources)
    assert (first.added, first.skipped, first.fetched) == (3, [], 5)
    assert pipeline.store.sources() == {site.url + p for p in ("/a/1", "/a/2", "/b/1")}
    meta = metadata_of(pipeline, site.url + "/a/2")
    assert meta["outlet"] == "Outlet A" and str(meta["published"]).startswith("2026-11-02")
    assert (meta["url"], meta["language"], meta["title"]) == (site.url + "/a/2", "en", "Story 2")
    asked_before = len(site.requests)
    second = ingest(pipeline, sources)
    assert (second.added, second.fetched, second.not_modified) == (0, 0, 2)
    assert [r.path for r in site.requests[asked_before:]] == [
        "/robots.txt", "/a/feed", "/b/feed"
    ]  # fmt: skip


def test_a_new_item_is_the_only_page_fetched(site: WebSite, pipeline: IngestPipeline) -> None:
    sources = two_feeds(site)
    ingest(pipeline, sources)
    a3 = publish(site, "/a/3", 4, "Outlet A", 4)
    old = site.routes["/a/feed"].body.decode()
    new_item = f"<item><title>Four</title><link>{a3}</link></item>"
    site.feed("/a/feed", old.replace("</channel>", new_item + "</channel>"), etag='"a-v2"')
    report = ingest(pipeline, sources)
    assert (report.added, report.entries_unchanged, report.not_modified) == (1, 2, 1)
    assert len(site.asked("/a/1")) == 1 and len(site.asked("/a/3")) == 1


def test_a_broken_feed_is_one_line_and_loses_nothing(
    site: WebSite, pipeline: IngestPipeline
) -> None:
    sources = two_feeds(site)
    ingest(pipeline, sources)
    site.page("/b/feed", "down", status=500)
    report = ingest(pipeline, Sources(feeds=[*sources.feeds, site.url + "/nowhere"]), prune=True)
    assert [(s.path, s.reason) for s in report.skipped] == [
        (site.url + "/b/feed", "HTTP 500"), (site.url + "/nowhere", "HTTP 404")
    ]  # fmt: skip
    assert site.url + "/b/1" in pipeline.store.sources() and report.removed == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<html><body><script>app()</script></body></html>", "no article text found in the HTML"),
        ("<html><body><p>a web page, not a feed</p></body></html>", "not an RSS or Atom feed"),
    ],
    ids=["all script", "not a feed"],
)
def test_what_cannot_be_read_is_reported(
    site: WebSite, pipeline: IngestPipeline, body: str, reason: str
) -> None:
    feed = rss("Outlet C", [("Script", site.page("/c/1", body), "Wed, 04 Nov 2026 09:00:00 GMT")])
    url = site.feed("/c/feed", feed) if reason.startswith("no article") else site.page("/c", body)
    report = ingest(pipeline, Sources(feeds=[url]))
    assert [s.reason for s in report.skipped] == [reason] and report.added == 0


def test_robots_txt_keeps_a_page_out(site: WebSite, pipeline: IngestPipeline) -> None:
    site.page("/robots.txt", "User-agent: summit-assistant\nDisallow: /private/\n")
    page = publish(site, "/private/1", 5, "Outlet D", 5)
    report = ingest(pipeline, Sources(pages=[page, publish(site, "/open/1", 6, "Outlet D", 6)]))
    assert [(s.path, s.reason) for s in report.skipped] == [(page, "disallowed by robots.txt")]
    assert site.asked("/private/1") == [] and report.added == 1


def test_a_syndicated_copy_is_stored_once_with_its_outlet(
    site: WebSite, pipeline: IngestPipeline
) -> None:
    original = publish(site, "/wire/1", 7, "Wire Service", 7)
    ingest(pipeline, Sources(pages=[original]))
    text = article_text(7)
    copy_url = site.url + "/paper/reprint"
    site.page("/paper/reprint", article_page(
        "Reprinted", ["By our correspondent.", *text], "Daily Paper", "2026-11-08", copy_url
    ))  # fmt: skip
    report = ingest(pipeline, Sources(pages=[copy_url]))
    assert [(n.path, n.of) for n in report.near_duplicates] == [(copy_url, original)]
    assert report.added == 0 and copy_url not in pipeline.store.sources()
    also_in = json.loads(str(metadata_of(pipeline, original)["also_in"]))
    assert [(c["source"], c["outlet"], c["published"][:10]) for c in also_in] == [
        (copy_url, "Daily Paper", "2026-11-08")
    ]  # fmt: skip
    again = ingest(pipeline, Sources(pages=[copy_url]))
    assert again.added == 0 and len(pipeline.store.sources()) == 1


def test_the_same_text_under_a_new_url_is_not_stored_twice(
    site: WebSite, pipeline: IngestPipeline
) -> None:
    first = publish(site, "/story", 8, "Outlet E", 9)
    ingest(pipeline, Sources(pages=[first]))
    site.routes["/story-updated-url"] = site.routes["/story"]
    report = ingest(pipeline, Sources(urls=[site.url + "/story-updated-url"]))
    assert [(d.path, d.of) for d in report.duplicates] == [(site.url + "/story-updated-url", first)]
    page = site.routes["/story"].body.decode()
    site.page("/story-v2", page.replace("</article>", "<p>Updated at noon.</p></article>"))
    report = ingest(pipeline, Sources(urls=[site.url + "/story-v2"]))
    assert [n.of for n in report.near_duplicates] == [first]
    assert pipeline.store.sources() == {first}
