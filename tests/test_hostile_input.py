"""Hostile input as tests: every case ends in a clear answer, a clear 4xx or a clear skip
reason, never a crash, a 500, a traceback or a hang.

Hostile files are ingested through the real IngestPipeline (a real Chroma store in
tmp_path, hashing vectors instead of the model) in a child process: a hang or a memory
blow-up there is killed at its deadline instead of running on in a thread of the test
process. Hostile questions go through the real app (TestClient) and Assistant.ask over a
tiny corpus; each request has a deadline too. Slack deliveries go over real HTTP on
127.0.0.1 to a live app and a fake Slack Web API.
"""

import concurrent.futures
import json
import multiprocessing
import os
import resource
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.loaders import load_file
from ingest.pipeline import IngestPipeline
from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer
from server.assistant import Assistant
from server.base.documents import indexed_text
from server.contract import Answer, SearchResponse, StoreStatus
from server.errors import SummitError
from server.httpapi.app import create_app
from server.httpapi.schemas import ChatCompletion
from server.prompts import PromptLibrary
from server.retrieval.hybrid import HybridRetriever
from server.settings import Settings
from server.storage.chroma import open_persistent_client
from server.storage.lexical import LexicalIndex
from server.storage.store import ChunkStore
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.fakes import FakeEmbedder, FakeReader
from tests.pdfs import pdf_from_objects
from tests.servers import running_server
from tests.test_http_api import sse_events
from tests.test_slack import (
    MENTION,
    SIGNING_SECRET,
    app_mention,
    event_callback,
    new_id,
    signature_headers,
)

T = TypeVar("T")
PROMPTS = Path(__file__).parent.parent / "prompts"
MAX_TOKENS = 512  # the model's limit in word pieces, special tokens included
TARGET_TOKENS = 384
# Deadlines leave room for a loaded machine: with linear-time fixes in place, the slowest
# cases took 4 s (2 MB) and 7 s (10 MB) on an idle 2-CPU machine, 10 s and 16 s under load.
DEADLINE_S = 15.0  # a hostile file is read, chunked, embedded and stored within this
TWO_MB_DEADLINE_S = 20.0
TEN_MB_DEADLINE_S = 30.0
CHILD_START_S = 60.0  # imports and store set-up in the child, before the deadline starts
RSS_GROWTH_LIMIT = 1 << 30  # one hostile file may not cost a gigabyte
REQUEST_DEADLINE_S = 10.0
NORMAL_TEXT = "# Normal\n\nThe summit was held in Nara. The leaders met for two days.\n"
CORPUS = (
    "# Talks\n\n## Venue\n\nThe summit was held in Nara. The leaders met for two days.\n\n"
    "## Outcome\n\nThey agreed to strengthen defense cooperation.\n"
)
NO_ANSWER = "The documents do not answer"

# ---------------------------------------------------------------- a model-like counter


class WordPieceLikeEmbedder(FakeEmbedder):
    """The fake's hashing vectors, with word pieces counted roughly as WordPiece does: a
    long run without spaces (base64, a URL, glued words) costs one piece per four
    characters, not one in all as FakeEmbedder counts it."""

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [sum(-(-len(word) // 4) for word in text.split()) + 2 for text in texts]


def hostile_chunker(embedder: FakeEmbedder) -> Chunker:
    return Chunker(embedder.count_tokens, ChunkingPolicy(MAX_TOKENS, TARGET_TOKENS, 1))


# ---------------------------------------------------------------- work in a child process


@dataclass(frozen=True)
class Outcome:
    """How a piece of hostile work ended in its child process."""

    result: dict[str, Any] | None  # what the work returned
    error: str | None  # the traceback of an exception that escaped
    timed_out: bool
    killed_for_memory: bool
    seconds: float
    rss_growth: int  # bytes

    def finished(self) -> dict[str, Any]:
        """The result, or a failure that says how the work did not finish."""
        if self.timed_out:
            pytest.fail(f"still running after {self.seconds:.1f} s: killed (a hang)")
        if self.killed_for_memory:
            pytest.fail(f"grew by {self.rss_growth >> 20} MB: killed (a memory blow-up)")
        if self.error is not None:
            pytest.fail(f"an exception escaped:\n{self.error}")
        assert self.result is not None
        assert self.rss_growth < RSS_GROWTH_LIMIT, f"grew by {self.rss_growth >> 20} MB"
        return self.result


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _pipeline_job(folder: Path) -> tuple[IngestPipeline, WordPieceLikeEmbedder]:
    embedder = WordPieceLikeEmbedder(MAX_TOKENS)
    store = ChunkStore(open_persistent_client(folder / "store"), "hostile", "fake")
    pipeline = IngestPipeline(
        store, embedder, hostile_chunker(embedder), folder / "lexical", batch_size=2048
    )
    return pipeline, embedder


def _ingest_job(folder: Path, paths: list[Path], started: Callable[[], None]) -> dict[str, Any]:
    """Ingests the files; returns the report and what the store and index hold after."""
    pipeline, embedder = _pipeline_job(folder)
    started()
    report = pipeline.ingest(paths)
    records = list(pipeline.store.records())
    sizes = embedder.count_tokens([indexed_text(m.get("title"), t) for _, t, m in records])
    lexical = LexicalIndex.load(folder / "lexical")
    return {
        "report": report.as_json(),
        "longest": max(sizes, default=0),
        "sources": sorted({str(m["source"]) for _, _, m in records}),
        "texts": [t for _, t, _ in records],
        "lexical_chunks": -1 if lexical is None else len(lexical.chunk_ids),
        "store_count": pipeline.store.count(),
    }


def _chunk_and_index_job(
    folder: Path, paths: list[Path], started: Callable[[], None]
) -> dict[str, Any]:
    """Loads and chunks one file and builds the BM25 index over its chunks (no store)."""
    embedder = WordPieceLikeEmbedder(MAX_TOKENS)
    chunker = hostile_chunker(embedder)
    started()
    [document] = load_file(paths[0], lambda where, why: None)
    chunks = chunker.chunk(document)
    texts = [c.indexed_text for c in chunks]
    index = LexicalIndex.build([c.chunk_id for c in chunks], texts, "v1")
    index.save(folder / "lexical")
    saved = sum(p.stat().st_size for p in (folder / "lexical").rglob("*") if p.is_file())
    manifest = json.loads((folder / "lexical" / "manifest.json").read_text())
    return {
        "chunks": len(chunks),
        "longest": max(embedder.count_tokens(texts), default=0),
        "terms": sorted(manifest["df"]),
        "saved_bytes": saved,
    }


JOBS: dict[str, Callable[[Path, list[Path], Callable[[], None]], dict[str, Any]]] = {
    "ingest": _ingest_job,
    "chunk_and_index": _chunk_and_index_job,
}


def _child(conn: Connection, job: str, folder: str, paths: list[str]) -> None:
    """Runs in the child: says when the work starts (and its memory then), then the end."""
    try:

        def started() -> None:
            conn.send(("started", _max_rss_bytes()))

        result = JOBS[job](Path(folder), [Path(p) for p in paths], started)
        conn.send(("done", result, _max_rss_bytes()))
    except BaseException:
        conn.send(("error", traceback.format_exc(), _max_rss_bytes()))
    finally:
        conn.close()


_forkserver_lock = threading.Lock()


def _context() -> Any:
    """Children forked from a server that has imported the heavy modules once (chromadb,
    pypdf, trafilatura...): a fresh interpreter per case would cost seconds each."""
    context = multiprocessing.get_context("forkserver")
    with _forkserver_lock:
        context.set_forkserver_preload([__name__, "chromadb", "pypdf", "trafilatura"])
    return context


def run_isolated(job: str, folder: Path, paths: list[Path], deadline: float) -> Outcome:
    """The job in a child process; killed past its deadline or a gigabyte of growth."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, job, str(folder), [str(p) for p in paths]), daemon=True
    )
    process.start()
    sender.close()
    try:
        return _watch(process, receiver, deadline)
    finally:
        if process.is_alive():
            process.kill()
        process.join(10)
        receiver.close()


def _watch(process: Any, receiver: Connection, deadline: float) -> Outcome:
    try:
        if not receiver.poll(CHILD_START_S):
            raise RuntimeError(f"the child did not start within {CHILD_START_S} s")
        message = receiver.recv()
    except EOFError:
        process.join(5)
        raise RuntimeError(f"the child died while starting ({process.exitcode})") from None
    if message[0] == "error":  # failed while setting up, before the hostile work
        raise RuntimeError(f"the child failed to set up:\n{message[1]}")
    baseline_peak, baseline_rss = message[1], _rss_bytes(process.pid)
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if receiver.poll(0.05):
            try:
                kind, payload, peak = receiver.recv()
            except EOFError:
                return Outcome(None, "the child died without a word", False, False, elapsed, 0)
            growth = max(0, peak - baseline_peak)
            if kind == "done":
                return Outcome(payload, None, False, False, elapsed, growth)
            return Outcome(None, payload, False, False, elapsed, growth)
        growth = _rss_bytes(process.pid) - baseline_rss
        if growth > RSS_GROWTH_LIMIT:
            process.kill()
            return Outcome(None, None, False, True, elapsed, growth)
        if elapsed > deadline:
            process.kill()
            return Outcome(None, None, True, False, elapsed, 0)
        if not process.is_alive() and not receiver.poll(0.2):
            code = process.exitcode
            return Outcome(None, f"the child died (exit code {code})", False, False, elapsed, 0)


def ingest_with_normal(
    tmp_path: Path, hostile: list[Path], deadline: float = DEADLINE_S
) -> tuple[dict[str, Any], Path]:
    """Ingests the hostile files beside one normal document; returns what happened."""
    normal = tmp_path / "normal.md"
    normal.write_text(NORMAL_TEXT)
    outcome = run_isolated("ingest", tmp_path / "work", [normal, *hostile], deadline)
    result = outcome.finished()
    assert str(normal.resolve()) in result["sources"], "the normal document was not stored"
    assert result["longest"] <= MAX_TOKENS, f"a chunk of {result['longest']} word pieces"
    assert result["lexical_chunks"] == result["store_count"]
    return result, normal


def skipped(result: dict[str, Any]) -> dict[str, str]:
    """The report's skipped locations (file name, or name:line) and their reasons."""
    return {Path(s["path"]).name: s["reason"] for s in result["report"]["skipped"]}


def stored_sources(result: dict[str, Any]) -> set[str]:
    return {Path(s).name for s in result["sources"]}


# ---------------------------------------------------------------- 1. hostile documents


def long_line(size: int, spaced: bool) -> str:
    """One line of `size` characters without a newline or a sentence end."""
    unit = "summit talks went on without a pause " if spaced else "summitTalksWentOn"
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("spaced", [True, False], ids=["words", "no-spaces"])
def test_a_hundred_kilobyte_single_line_is_chunked_within_the_model_limit(
    tmp_path: Path, spaced: bool
) -> None:
    hostile = tmp_path / "line.txt"
    hostile.write_text(long_line(100_000, spaced))
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert result["report"]["skipped"] == []
    assert stored_sources(result) == {"normal.md", "line.txt"}
    assert sum(len(text) for text in result["texts"]) > 99_000  # all of it, overlap aside


def test_a_single_two_megabyte_line_is_chunked_within_the_model_limit(tmp_path: Path) -> None:
    hostile = tmp_path / "line.md"
    hostile.write_text(long_line(2_000_000, spaced=True))
    result, _ = ingest_with_normal(tmp_path, [hostile], TWO_MB_DEADLINE_S)
    assert stored_sources(result) == {"normal.md", "line.md"}


def test_ten_megabytes_of_one_word_are_chunked_and_indexed_in_bounded_time(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "summit.txt"
    hostile.write_text("summit " * (10_000_000 // 7))
    outcome = run_isolated("chunk_and_index", tmp_path / "work", [hostile], TEN_MB_DEADLINE_S)
    result = outcome.finished()
    assert result["longest"] <= MAX_TOKENS
    assert result["terms"] == ["summit"]  # one word, one term: the index does not explode
    assert result["saved_bytes"] < 50 * 1024 * 1024


@pytest.mark.parametrize("depth", [5_000, 50_000])
def test_deeply_nested_html_is_skipped_with_a_reason_or_ingested(
    tmp_path: Path, depth: int
) -> None:
    hostile = tmp_path / "deep.html"
    article = "The delegations met in Nara and agreed on closer defense ties. " * 5
    hostile.write_text(
        "<html><head><title>Deep</title></head><body>"
        + "<div>" * depth
        + f"<p>{article}</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    result, _ = ingest_with_normal(tmp_path, [hostile])
    if "deep.html" in stored_sources(result):
        assert any("delegations met in Nara" in text for text in result["texts"])
    else:
        assert skipped(result)["deep.html"].strip(), "skipped without a reason"


def one_page_pdf(content: bytes, pages: bytes, flate: bool = False, extra: bytes = b"") -> bytes:
    """Catalog (1), page tree (2), font (3), the page (4), its contents (5), then `extra`."""
    filters = b"/Filter /FlateDecode " if flate else b""
    stream = b"<< /Length %d %s>>\nstream\n" % (len(content), filters) + content + b"\nendstream"
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>"
    )
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", pages, font, page, stream]
    return pdf_from_objects(objects + ([extra] if extra else []))


def deflated(unit: bytes, total: int) -> bytes:
    """`total` bytes of `unit` repeated, deflated without holding them all in memory."""
    compressor = zlib.compressobj(1)
    block = unit * ((1 << 20) // len(unit))
    parts = [compressor.compress(block) for _ in range(total // len(block))]
    return b"".join([*parts, compressor.flush()])


PAGE_TEXT = b"BT /F1 12 Tf 72 720 Td (The summit was held in Nara.) Tj ET"


def test_a_pdf_whose_stream_inflates_to_hundreds_of_megabytes_is_skipped(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "bomb.pdf"
    bomb = deflated(b" ", 300 << 20)  # 300 MB of spaces in about a megabyte
    hostile.write_bytes(
        one_page_pdf(bomb, b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", flate=True)
    )
    assert hostile.stat().st_size < 2 << 20
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "corrupt PDF" in skipped(result)["bomb.pdf"]


@pytest.mark.parametrize(
    ("pages", "extra"),
    [
        (b"<< /Type /Pages /Kids [4 0 R 2 0 R] /Count 2 >>", b""),
        (
            b"<< /Type /Pages /Kids [6 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R 4 0 R] /Count 1 >>",
        ),
    ],
    ids=["tree-is-its-own-kid", "grandchild-points-back"],
)
def test_a_pdf_whose_page_tree_is_a_cycle_is_skipped_with_a_reason(
    tmp_path: Path, pages: bytes, extra: bytes
) -> None:
    hostile = tmp_path / "cycle.pdf"
    hostile.write_bytes(one_page_pdf(PAGE_TEXT, pages, extra=extra))
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "corrupt PDF" in skipped(result)["cycle.pdf"]


def test_a_pdf_declaring_a_trillion_pages_is_read_for_the_page_it_has(tmp_path: Path) -> None:
    hostile = tmp_path / "count.pdf"
    pages = b"<< /Type /Pages /Kids [4 0 R] /Count 999999999999 >>"
    hostile.write_bytes(one_page_pdf(PAGE_TEXT, pages))
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert stored_sources(result) == {"normal.md", "count.pdf"}
    assert result["store_count"] == 2


def test_a_pdf_listing_one_page_fifty_thousand_times_is_skipped(tmp_path: Path) -> None:
    hostile = tmp_path / "many.pdf"
    kids = b" ".join([b"4 0 R"] * 50_000)  # a 300 kB file; pypdf allows 100,000 a list
    hostile.write_bytes(
        one_page_pdf(PAGE_TEXT, b"<< /Type /Pages /Kids [%s] /Count 50000 >>" % kids)
    )
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "50,000 pages" in skipped(result)["many.pdf"]
    assert stored_sources(result) == {"normal.md"}


def test_a_tiny_pdf_inflating_to_millions_of_text_operators_is_bounded(tmp_path: Path) -> None:
    hostile = tmp_path / "ops.pdf"
    operators = deflated(b"BT /F1 12 Tf (summit) Tj ET\n", 5 << 20)  # 5 MB in ~12 kB
    hostile.write_bytes(
        one_page_pdf(operators, b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", flate=True)
    )
    assert hostile.stat().st_size < 64 * 1024
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "page left out" in skipped(result)["ops.pdf#page=1"]


INVISIBLE = "\u200b\u200c\u200d\ufeff"
RTL_DOCUMENT = (
    "# Talks\u200b\n\n"
    "## Venue\n\n"
    "The\u200b summit\u200c was held in Nara.\u200d The leaders met for two days.\ufeff\n\n"
    "## \u05e9\u05dc\u05d5\u05dd\n\n"
    "\u05d4\u05e4\u05e1\u05d2\u05d4 \u05d4\u05ea\u05e7\u05d9\u05d9\u05de\u05d4 "
    "\u05d1\u05e0\u05d0\u05e8\u05d4. \u202eThey agreed to strengthen defense cooperation."
    "\u202c\n\n"
    "## \u0639\u0631\u0628\u064a\n\n"
    "\u0639\u0642\u062f\u062a \u0627\u0644\u0642\u0645\u0629 \u0641\u064a "
    "\u0646\u0627\u0631\u0627.\u200f Talks\u200e will continue next year.\n"
)


@dataclass(frozen=True)
class Core:
    """The real core (retrieval, extractive answers) over documents, with hashing vectors."""

    assistant: Assistant
    store: ChunkStore


def build_core(folder: Path, docs: Path, max_chars: int) -> Core:
    """build_fake_assistant (tests/test_http_api.py) over any folder of documents, with the
    question limit the app checks (its 200 would refuse what the app lets through)."""
    embedder = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(folder / "store"), "talks", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    pipeline = IngestPipeline(store, embedder, chunker, folder / "lexical", batch_size=8)
    report = pipeline.ingest([docs])
    assert report.skipped == [], report.skipped
    lexical = pipeline.sync_lexical_index()
    # A stand-in reader (tests/fakes.py), and every best sentence answers.
    policy = AnswerPolicy(passages=3, max_sentences=2, threshold=0.0)
    answerer = ExtractiveAnswerer(PromptLibrary(PROMPTS), policy, reader=FakeReader)
    status = StoreStatus(documents=1, chunks=store.count(), store="x", embedding_model="fake")
    retriever = HybridRetriever(store, lexical, embedder, 10, 60)
    return Core(Assistant(retriever, answerer, lambda: status, max_chars), store)


def test_zero_width_and_right_to_left_text_is_ingested_and_can_be_asked_about(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "docs" / "rtl.md"
    hostile.parent.mkdir()
    hostile.write_text(RTL_DOCUMENT)
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert result["report"]["skipped"] == []
    assert any("\u05d4\u05e4\u05e1\u05d2\u05d4" in text for text in result["texts"])
    assert any("\u202e" in text for text in result["texts"])

    core = build_core(tmp_path / "core", hostile.parent, 2000)
    zero_width = call_within(
        lambda: core.assistant.ask(f"{INVISIBLE}Where\u200b was the\u200c summit held?\ufeff")
    )
    assert zero_width.answered and "Nara" in zero_width.answer
    hebrew = call_within(lambda: core.assistant.ask("\u05d0\u05d9\u05e4\u05d4 \u202eNara?"))
    assert hebrew.answer.strip() and hebrew.question.startswith("\u05d0")
    arabic = call_within(lambda: core.assistant.search("\u0627\u0644\u0642\u0645\u0629", 3))
    assert any("\u0627\u0644\u0642\u0645\u0629" in r.text for r in arabic.results)
    settings = Settings.of(store=Path("unused"), rate_limit_per_minute=0)
    app = create_app(settings, assistant_factory=lambda: core.assistant)
    with TestClient(app, raise_server_exceptions=False) as http:
        app.state.runtime.wait(10)
        for endpoint in ENDPOINTS:
            question = f"\u202eWhere\u200b was the summit held?{INVISIBLE}"
            assert "Nara" in answer_of(endpoint, ask(http, endpoint, question))


def test_jsonl_ten_megabyte_lines_and_lines_that_are_not_objects_are_skipped_with_reasons(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "records.jsonl"
    words = ", ".join(['"summit"'] * (10_000_000 // 10))
    lines = [
        json.dumps({"_id": "good-1", "text": "The summit was held in Nara."}),
        f"[{words}]",  # 10 MB of JSON that is an array
        "[1, 2, 3]",
        "42",
        "null",
        '"just a string"',
        "true",
        '{"_id": "huge", "text": "' + "summit " * (10_000_000 // 7),  # 10 MB, unterminated
        json.dumps({"_id": "good-2", "text": "They agreed to strengthen defense cooperation."}),
    ]
    hostile.write_text("\n".join(lines) + "\n")
    result, _ = ingest_with_normal(tmp_path, [hostile])
    reasons = skipped(result)
    assert sorted(reasons) == [f"records.jsonl:{line}" for line in range(2, 9)]
    assert {reasons[f"records.jsonl:{line}"] for line in range(2, 8)} == {"not a JSON object"}
    assert reasons["records.jsonl:8"].startswith("invalid JSON")
    assert result["report"]["added"] == 3  # the normal document and the two good records
    assert "The summit was held in Nara." in result["texts"]


def test_a_jsonl_line_nested_a_hundred_thousand_deep_is_skipped_with_a_reason(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "nested.jsonl"
    good = json.dumps({"_id": "good", "text": "Leaders agreed on closer defense ties."})
    hostile.write_text(good + "\n" + "[" * 100_000 + "]" * 100_000 + "\n")
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert skipped(result)["nested.jsonl:2"].startswith("invalid JSON")
    assert "nested.jsonl" in stored_sources(result)


def test_markdown_front_matter_nested_a_thousand_deep_is_skipped_with_a_reason(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "front.md"
    hostile.write_text(
        "---\ntitle: Deep\ntags: " + "[" * 1_000 + "]" * 1_000 + "\n---\n# Deep\n\nText.\n"
    )
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "front matter" in skipped(result)["front.md"]


def test_a_jsonl_record_with_twenty_thousand_metadata_fields_is_skipped_and_the_store_survives(
    tmp_path: Path,
) -> None:
    hostile = tmp_path / "meta.jsonl"
    wide = {"_id": "wide", "text": "Wide record.", "metadata": {f"k{i}": i for i in range(20_000)}}
    good = {"_id": "good", "text": "They agreed to strengthen defense cooperation."}
    hostile.write_text(json.dumps(wide) + "\n" + json.dumps(good) + "\n")
    result, _ = ingest_with_normal(tmp_path, [hostile])
    assert "metadata" in skipped(result)["meta.jsonl:1"]
    again = run_isolated("ingest", tmp_path / "work", [tmp_path / "normal.md"], DEADLINE_S)
    assert again.finished()["report"]["unchanged"] == 1  # the store still answers


# ---------------------------------------------------------------- 2. hostile questions


def call_within(call: Callable[[], T], seconds: float = REQUEST_DEADLINE_S) -> T:
    """The call's result, or a failure after `seconds` (a daemon thread: a hung call does
    not hold up the end of the test run)."""
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="hostile-call", daemon=True).start()
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"no answer within {seconds} s (a hang)")


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Core:
    folder = tmp_path_factory.mktemp("hostile-core")
    (folder / "docs").mkdir()
    (folder / "docs" / "talks.md").write_text(CORPUS)
    return build_core(folder, folder / "docs", Settings.of(store=folder).answers.max_question_chars)


@pytest.fixture(scope="module")
def client(core: Core) -> Iterator[TestClient]:
    settings = Settings.of(store=Path("unused"), rate_limit_per_minute=0)
    app = create_app(settings, assistant_factory=lambda: core.assistant)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        app.state.runtime.wait(10)
        yield test_client


ENDPOINTS = ["chat", "chat-stream", "search", "openai"]


def ask(client: TestClient, endpoint: str, question: str) -> httpx.Response:
    """The question sent to one endpoint as a client would, with a deadline."""
    requests: dict[str, Callable[[], httpx.Response]] = {
        "chat": lambda: client.post("/chat", json={"message": question}),
        "chat-stream": lambda: client.post("/chat/stream", json={"message": question}),
        "search": lambda: client.get("/search", params={"q": question}),
        "openai": lambda: client.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}
        ),
    }
    return call_within(requests[endpoint])


def answer_of(endpoint: str, response: httpx.Response) -> str:
    """The answer text of a 200, after checking the endpoint's answer shape."""
    assert response.status_code == 200, (response.status_code, response.text[:300])
    if endpoint == "chat":
        return Answer.model_validate(response.json()).answer
    if endpoint == "chat-stream":
        events = sse_events(response.text)
        assert events[0][0] == "citations" and events[-1][0] == "done", events[-1]
        return Answer.model_validate_json(events[-1][1]).answer
    if endpoint == "search":
        results = SearchResponse.model_validate(response.json()).results
        return " ".join(r.text for r in results)
    completion = ChatCompletion.model_validate(response.json())
    assert completion.choices[0].finish_reason == "stop"
    return completion.choices[0].message.content


def assert_clear_4xx(response: httpx.Response, fragment: str = "") -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail.strip() and fragment in detail, detail


WHITESPACE_ONLY = " \t\n\r\x0b\x0c\u00a0\u2003\u3000 "
EMPTY_AFTER_NORMALISATION = [
    pytest.param(WHITESPACE_ONLY, id="whitespace"),
    pytest.param(
        INVISIBLE,
        id="zero-width",
    ),
    pytest.param(
        "\x00\x01\x07\x1b\x7f",
        id="control",
    ),
    pytest.param(
        f" {INVISIBLE}\t\x00 \u2060\u00ad ",
        id="mixed",
    ),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("question", EMPTY_AFTER_NORMALISATION)
def test_a_question_empty_after_normalisation_is_a_422_with_a_detail(
    client: TestClient, endpoint: str, question: str
) -> None:
    response = ask(client, endpoint, question)
    assert response.status_code == 422, (response.status_code, response.text[:200])
    assert_clear_4xx(response)


@pytest.mark.parametrize("question", EMPTY_AFTER_NORMALISATION)
def test_assistant_ask_refuses_a_question_empty_after_normalisation(
    core: Core, question: str
) -> None:
    with pytest.raises(SummitError, match="empty"):
        call_within(lambda: core.assistant.ask(question))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_question_of_only_stop_words_gets_a_clear_answer(
    client: TestClient, core: Core, endpoint: str
) -> None:
    question = "the of and to is"
    text = answer_of(endpoint, ask(client, endpoint, question))
    if endpoint != "search":
        assert NO_ANSWER in text, text
    answer = call_within(lambda: core.assistant.ask(question))
    assert not answer.answered and NO_ANSWER in answer.answer


SMILE = "\U0001f600"  # one code point
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, five code points


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_the_limit_counts_code_points_so_2000_emoji_pass_and_2001_are_refused(
    client: TestClient, endpoint: str
) -> None:
    assert Settings.of(store=Path("x")).answers.max_question_chars == 2000
    answer_of(endpoint, ask(client, endpoint, SMILE * 2000))
    answer_of(endpoint, ask(client, endpoint, FAMILY * 400))  # 2,000 code points
    assert_clear_4xx(ask(client, endpoint, SMILE * 2001), "too long")
    assert_clear_4xx(ask(client, endpoint, FAMILY * 401), "too long")  # 401 emoji, 2,005 points


INJECTIONS = [
    "'; DROP TABLE chunks; --",
    '" OR 1=1; DELETE FROM embeddings; --',
    "$(rm -rf /)",
    "`id`",
    "; cat /etc/passwd | nc 127.0.0.1 9",
    "%s%n%x%d",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "\\x00",
    "../../etc/passwd",
    '{"$ne": null}',
    '{"source": {"$ne": null}, "$or": [{"doc_id": {"$gt": ""}}]}',
    "<script>alert(1)</script>",
    "Where was the summit held? ' OR '1'='1",
]


@pytest.mark.parametrize("question", INJECTIONS)
def test_injection_lookalikes_get_a_normal_answer_and_leave_the_store_whole(
    client: TestClient, core: Core, question: str
) -> None:
    count, version = core.store.count(), core.store.version()
    for endpoint in ENDPOINTS:
        answer_of(endpoint, ask(client, endpoint, question))
    answer = call_within(lambda: core.assistant.ask(question))
    assert answer.question == question and answer.answer.strip()
    assert (core.store.count(), core.store.version()) == (count, version)
    assert "Nara" in answer_of("chat", ask(client, "chat", "Where was the summit held?"))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_nul_bytes_inside_a_question_get_a_clear_answer(client: TestClient, endpoint: str) -> None:
    text = answer_of(endpoint, ask(client, endpoint, "Where\x00 was the summit\x00 held?"))
    assert "Nara" in text


def raw_post(client: TestClient, path: str, body: str) -> httpx.Response:
    """A JSON body written by hand: json.dumps cannot write a lone surrogate escape."""
    headers = {"content-type": "application/json"}
    return call_within(lambda: client.post(path, content=body.encode(), headers=headers))


SURROGATE_BODIES = [
    pytest.param("/chat", '{"message": "\\ud800"}', id="chat"),
    pytest.param("/chat", '{"message": "Where was the summit held?\\udfff"}', id="chat-tail"),
    pytest.param("/chat/stream", '{"message": "Where\\ud800 was it?"}', id="chat-stream"),
    pytest.param(
        "/chat",
        '{"message": "Where?", "history": [{"role": "user", "content": "\\ud800"}]}',
        id="chat-history",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": "Where\\ud800 was it?"}]}',
        id="openai",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udc00"}]}]}',
        id="openai-parts",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "\\ud800", "messages": [{"role": "user", "content": "Where was it?"}]}',
        id="openai-model",
    ),
    pytest.param(
        "/v1/chat/completions",
        '{"model": "\\ud800", "stream": true, "messages": [{"role": "user", "content": "Where?"}]}',
        id="openai-stream-model",
    ),
    pytest.param("/chat", '{"message": "Where\\u0000 was the summit held?"}', id="chat-nul"),
    pytest.param(
        "/v1/chat/completions",
        '{"messages": [{"role": "user", "content": "Where\\u0000 was the summit held?"}]}',
        id="openai-nul",
    ),
]


@pytest.mark.parametrize(("path", "body"), SURROGATE_BODIES)
def test_nul_bytes_and_lone_surrogates_in_json_bodies_are_a_4xx_or_a_clear_answer(
    client: TestClient, path: str, body: str
) -> None:
    response = raw_post(client, path, body)
    if response.status_code != 200:
        assert_clear_4xx(response)
        return
    if response.headers["content-type"].startswith("text/event-stream"):
        assert response.text.rstrip().endswith(("data: [DONE]", "}")), response.text[-200:]
        assert '"error"' not in response.text and "event: error" not in response.text
        if path == "/chat/stream":
            assert sse_events(response.text)[-1][0] == "done"
        return
    if path == "/chat":
        assert Answer.model_validate(response.json()).answer.strip()
    else:
        assert ChatCompletion.model_validate(response.json()).choices[0].message.content


@pytest.mark.parametrize("query", ["%ED%A0%80", "%00", "%FF%FE", "Where%00was%C0%AF"])
def test_undecodable_bytes_in_a_search_query_get_a_clear_answer_or_a_4xx(
    client: TestClient, query: str
) -> None:
    response = call_within(lambda: client.get(f"/search?q={query}"))
    if response.status_code == 200:
        SearchResponse.model_validate(response.json())
    else:
        assert_clear_4xx(response)  # "%00" alone is empty once control characters go


def test_assistant_ask_refuses_a_lone_surrogate_with_a_clear_error(core: Core) -> None:
    with pytest.raises(SummitError):
        call_within(lambda: core.assistant.ask("Where\ud800 was the summit held?"))


# ---------------------------------------------------------------- 3. one Slack event, many times


@pytest.fixture
def slack_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeSlack]]:
    """The real app on 127.0.0.1 with Slack events on, over the fast fake-vector core."""
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "talks.md").write_text(CORPUS)
    core = build_core(tmp_path / "core", tmp_path / "docs", 2000)
    with FakeSlack() as fake:
        settings = Settings.of(
            store=tmp_path / "unused",
            rate_limit_per_minute=0,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
        )
        with running_server(settings, assistant_factory=lambda: core.assistant) as server:
            yield server.url, fake


def deliver_at_once(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    """Posts every body to /slack/events at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(bodies))

    def post(body: bytes, headers: dict[str, str]) -> int:
        with httpx.Client(base_url=url, timeout=REQUEST_DEADLINE_S) as http:
            all_headers = {
                "Content-Type": "application/json",
                **signature_headers(body),
                **headers,
            }
            barrier.wait(REQUEST_DEADLINE_S)
            return http.post("/slack/events", content=body, headers=all_headers).status_code

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        futures = [pool.submit(post, body, headers) for body, headers in bodies]
        return [f.result(timeout=2 * REQUEST_DEADLINE_S) for f in futures]


def assert_one_reply(fake: FakeSlack, event: dict[str, Any]) -> None:
    channel, ts = event["channel"], event["ts"]
    fake.wait_for_replies(channel, ts, timeout=15)  # posted whole or streamed
    fake.wait_for("reactions.remove", channel=channel, timestamp=ts, timeout=15)
    fake.wait_quiet(idle=1.0)
    [reply] = fake.bot_replies(channel)
    assert reply.get("thread_ts") == ts and "Nara" in reply.get("text"), reply
    assert not fake.calls("chat.postMessage", channel=channel)  # nothing besides the stream
    assert len(fake.calls("chat.startStream", channel=channel)) == 1
    assert len(fake.calls("reactions.add", channel=channel, timestamp=ts)) == 1


def test_the_same_slack_event_delivered_eight_times_at_once_gets_one_reply(
    slack_app: tuple[str, FakeSlack],
) -> None:
    url, fake = slack_app
    event = app_mention(fake, new_id("C"), f"{MENTION} Where was the summit held?")
    body = json.dumps(event_callback(event)).encode()
    retries = [{}] + [
        {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"} for n in range(1, 8)
    ]
    assert deliver_at_once(url, [(body, headers) for headers in retries]) == [200] * 8
    assert_one_reply(fake, event)


def test_one_slack_message_under_eight_event_ids_at_once_gets_one_reply(
    slack_app: tuple[str, FakeSlack],
) -> None:
    url, fake = slack_app
    event = app_mention(fake, new_id("C"), f"{MENTION} Where was the summit held?")
    payloads = [event_callback(event) for _ in range(8)]
    assert len({p["event_id"] for p in payloads}) == 8
    assert deliver_at_once(url, [(json.dumps(p).encode(), {}) for p in payloads]) == [200] * 8
    assert_one_reply(fake, event)
