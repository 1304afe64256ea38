"""Ingest faults found trying the tool as a new user would, each reproduced as it was met: two
saves of one page in a folder, a wire copy under its own headline and byline, and a feed with
one entry robots.txt keeps out. Loopback and a real Chroma store only."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import CopyPolicy, IngestPipeline
from ingest.web.sources import Sources
from server.base.documents import Block, SourceDocument
from server.cli import app
from server.errors import StoreUnavailableError
from server.settings import IngestSettings, Settings
from server.storage.chroma import open_persistent_client
from server.storage.reaching import RefusedRequestError, reaching_store
from server.storage.store import ChunkStore
from tests.configured import configured_store
from tests.fakes import FakeEmbedder
from tests.test_web_ingest import article_page, ingest, rss
from tests.web_site import WebSite, web_site

SAVED_ONCE = (
    "<html><head><title>T</title></head><body><nav>menu</Qav><article><p>The leaders met in "
    "Nara.</p></article></body></html>"
)
SAVED_AGAIN = (
    "<html><head><title>T</title></head><body><nav>menu</nav><article><p>The leaders met in "
    "Nara.</p</></article></body></html>"
)
# A short wire story (~70 words), as syndicated copies mostly are.
WIRE = (
    "Fishing crews in the northern port of Vardo unloaded a record catch of cod on Tuesday, "
    "the harbour office said. Prices at the morning auction fell by a tenth as buyers from "
    "three countries bid on more than four hundred tonnes. The office expects the season to "
    "run until late March if the weather holds, and said two new cold stores would open at "
    "the quay next month to take the surplus."
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.e2e
def test_two_saves_of_one_page_are_one_document_and_the_rest_of_the_folder_goes_in(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.html").write_text(SAVED_ONCE)
    (folder / "b.html").write_text(SAVED_AGAIN)
    (folder / "good.md").write_text("# Good\n\nThe ministers met in Kyoto on Monday.\n")
    store = tmp_path / "store"
    code, out, err = run("ingest", str(folder), "--store", str(store), "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["added"] == 2
    copies = [d["path"] for d in report["duplicates"] + report["near_duplicates"]]
    assert copies == [str(folder / "b.html")]
    assert configured_store(Settings.of(store=store)).sources() == {
        str(folder / "a.html"),
        str(folder / "good.md"),
    }


def test_a_chunk_given_twice_in_one_write_is_stored_once(tmp_path: Path) -> None:
    store = ChunkStore(open_persistent_client(tmp_path / "store"), "test", "fake")
    embedder = FakeEmbedder()
    chunks = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    document = SourceDocument("doc.md", "doc.md", "T", [Block("The leaders met in Nara.")])
    chunk = chunks.chunk(document)[0]
    vector = embedder.encode([chunk.text])[0].tolist()
    store.add([chunk, chunk], [vector, vector])
    assert store.count() == 1
    assert {c.chunk_id for c in store.get([chunk.chunk_id, chunk.chunk_id])} == {chunk.chunk_id}
    store.delete([chunk.chunk_id, chunk.chunk_id])
    assert store.count() == 0


def test_a_request_chroma_refuses_is_not_blamed_on_the_store() -> None:
    from chromadb.errors import DuplicateIDError

    with pytest.raises(RefusedRequestError) as refused, reaching_store():
        raise DuplicateIDError("Expected IDs to be unique")
    assert not isinstance(refused.value, StoreUnavailableError)
    assert "not answering" not in str(refused.value) and "try again" not in str(refused.value)


@pytest.fixture
def site() -> Iterator[WebSite]:
    with web_site() as running:
        yield running


@pytest.fixture
def served_pipeline(tmp_path: Path) -> IngestPipeline:
    """The pipeline with the served near-duplicate threshold."""
    embedder = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(tmp_path / "store"), "test", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    threshold = IngestSettings().near_duplicate_threshold
    copies = CopyPolicy(tmp_path / "copies.sqlite3", tmp_path / "fetch-state.json", threshold)
    return IngestPipeline(
        store, embedder, chunker, tmp_path / "lexical", 8, None, tmp_path / "lock", copies
    )


def test_a_wire_copy_under_its_own_headline_and_byline_is_stored_once(
    site: WebSite, served_pipeline: IngestPipeline
) -> None:
    wire_url, copy_url = site.url + "/wire/cod", site.url + "/paper/cod"
    site.page("/wire/cod", article_page("Record cod catch", [WIRE], "Wire", "2026-11-01", wire_url))
    copy = article_page(
        "Vardo fleet lands biggest haul in decades",
        ["By staff, Northern Daily", WIRE, "Northern Daily will follow the season."],
        "Northern Daily",
        "2026-11-02",
        copy_url,
    )
    site.page("/paper/cod", copy)
    feed = site.feed("/feed", rss("News", [
        ("Record cod catch", wire_url, "Sun, 01 Nov 2026 09:00:00 GMT"),
        ("Vardo fleet lands biggest haul", copy_url, "Mon, 02 Nov 2026 09:00:00 GMT"),
    ]))  # fmt: skip
    report = ingest(served_pipeline, Sources(feeds=[feed]))
    assert report.added == 1
    assert [(n.path, n.of) for n in report.near_duplicates] == [(copy_url, wire_url)]
    assert served_pipeline.store.sources() == {wire_url}


def test_a_story_that_grew_under_another_url_is_not_a_copy(
    site: WebSite, served_pipeline: IngestPipeline
) -> None:
    """A developing story told again at length holds the first report, and is kept."""
    first_url, later_url = site.url + "/first", site.url + "/later"
    site.page("/first", article_page("Cod catch", [WIRE], "Wire", "2026-11-01", first_url))
    grown = [WIRE] + [
        f"Update {n}: the harbour office revised its figures after crews from port {n} "
        f"reported {n * 40} more tonnes landed overnight, and auction prices moved again."
        for n in range(1, 6)
    ]
    site.page("/later", article_page("Cod catch, updated", grown, "Wire", "2026-11-03", later_url))
    ingest(served_pipeline, Sources(pages=[first_url]))
    report = ingest(served_pipeline, Sources(pages=[later_url]))
    assert report.near_duplicates == [] and report.added == 1


def test_an_entry_robots_txt_keeps_out_does_not_keep_the_feed_from_a_304(
    site: WebSite, served_pipeline: IngestPipeline
) -> None:
    site.page("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    open_url, private_url = site.url + "/open/1", site.url + "/private/1"
    site.page("/open/1", article_page("Open", [WIRE], "Outlet", "2026-11-01", open_url))
    site.page("/private/1", article_page("Private", ["Members only."], "Outlet", "2026-11-01",
                                         private_url))  # fmt: skip
    feed = site.feed("/feed", rss("Outlet", [
        ("Open", open_url, "Sun, 01 Nov 2026 09:00:00 GMT"),
        ("Private", private_url, "Sun, 01 Nov 2026 10:00:00 GMT"),
    ]), etag='"v1"')  # fmt: skip
    first = ingest(served_pipeline, Sources(feeds=[feed]))
    assert [(s.path, s.reason) for s in first.skipped] == [
        (private_url, "disallowed by robots.txt")
    ]
    asked = len(site.requests)
    second = ingest(served_pipeline, Sources(feeds=[feed]))
    assert (second.not_modified, second.fetched, second.added) == (1, 0, 0)
    feed_requests = [r for r in site.requests[asked:] if r.path == "/feed"]
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in feed_requests]
    assert [h.get("if-none-match") for h in sent] == ['"v1"']


def test_a_passing_fault_still_has_the_whole_feed_asked_for_again(
    site: WebSite, served_pipeline: IngestPipeline
) -> None:
    open_url, failing_url = site.url + "/open/1", site.url + "/failing/1"
    site.page("/open/1", article_page("Open", [WIRE], "Outlet", "2026-11-01", open_url))
    site.page("/failing/1", "busy", status=503)
    feed = site.feed("/feed", rss("Outlet", [
        ("Open", open_url, "Sun, 01 Nov 2026 09:00:00 GMT"),
        ("Failing", failing_url, "Sun, 01 Nov 2026 10:00:00 GMT"),
    ]), etag='"v1"')  # fmt: skip
    ingest(served_pipeline, Sources(feeds=[feed]))
    second = ingest(served_pipeline, Sources(feeds=[feed]))
    assert second.not_modified == 0 and site.asked("/failing/1") != []
    assert len(site.asked("/failing/1")) == 2
