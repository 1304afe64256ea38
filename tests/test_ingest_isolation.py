"""One bad file costs that file only: whatever its loader raises or its libraries say stays
with it, in the report, named."""

import logging
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import IngestPipeline
from ingest.report import IngestReport
from server.storage.lexical import LexicalIndex
from server.storage.sentence_vectors import SentenceVectorStore
from tests.fakes import FakeEmbedder, fake_pipeline
from tests.pdfs import make_pdf

GOOD_MD = "# Alpha\n\nThe summit was held in Nara. Leaders met.\n"
GOOD_TXT = "Defense cooperation was agreed.\n"


@pytest.fixture
def pipeline(tmp_path: Path, vectors: SentenceVectorStore) -> IngestPipeline:
    return fake_pipeline(tmp_path, FakeEmbedder(64), sentence_vectors=vectors)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(GOOD_MD)
    (folder / "b.txt").write_text(GOOD_TXT)
    return folder


def assert_in_step(pipeline: IngestPipeline, vectors: SentenceVectorStore, folder: Path) -> None:
    """The good files are stored, and the BM25 index and sentence vectors match the store."""
    store = pipeline.store
    assert {Path(s).name for s in store.sources()} >= {"a.md", "b.txt"}
    index = LexicalIndex.load(folder.parent / "store" / "lexical")
    assert index is not None and index.version == store.version() == store.generation()
    assert vectors.complete_for() == store.version()


def reasons(report: IngestReport) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in report.skipped}


def test_an_error_the_loader_does_not_list_skips_that_file_only(
    pipeline: IngestPipeline,
    vectors: SentenceVectorStore,
    docs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trafilatura

    def broken_extract(*args: object, **kwargs: object) -> str:
        raise IndexError("list index out of range")  # as lxml/trafilatura do on odd markup

    monkeypatch.setattr(trafilatura, "extract", broken_extract)
    (docs / "page.html").write_text("<html><body><p>Text.</p></body></html>")
    report = pipeline.ingest([docs])
    assert "IndexError" in reasons(report)["page.html"]
    assert report.added == 2
    assert_in_step(pipeline, vectors, docs)


def test_a_jsonl_record_with_an_unpaired_surrogate_is_skipped_not_the_ingest(
    pipeline: IngestPipeline, vectors: SentenceVectorStore, docs: Path
) -> None:
    # Valid JSON, but "\ud83d" alone is no character: the store cannot encode it.
    (docs / "c.jsonl").write_text(
        '{"_id": "1", "text": "Half an emoji \\ud83d here."}\n{"_id": "2", "text": "Fine."}\n'
    )
    report = pipeline.ingest([docs])
    assert "surrogate" in reasons(report)["c.jsonl:1"]
    assert report.added == 3
    assert_in_step(pipeline, vectors, docs)


@pytest.mark.parametrize("key", ["'#tag'", "'$where'", "'chroma:document'", "''"])
def test_front_matter_the_store_cannot_hold_skips_that_file_with_the_key_named(
    pipeline: IngestPipeline, vectors: SentenceVectorStore, docs: Path, key: str
) -> None:
    (docs / "c.md").write_text(f"---\n{key}: x\n---\n# Gamma\n\nTrade talks continue.\n")
    report = pipeline.ingest([docs])
    assert "metadata key" in reasons(report)["c.md"]
    assert report.added == 2
    assert_in_step(pipeline, vectors, docs)


def test_a_corrupt_pdf_says_nothing_unnamed_and_its_warnings_are_reported_by_name(
    pipeline: IngestPipeline,
    docs: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)  # what would reach the root logger, hence stderr
    whole = make_pdf(["Page one of the statement."])
    (docs / "cut.pdf").write_bytes(whole[: whole.rindex(b"%%EOF")])
    report = pipeline.ingest([docs])
    assert capsys.readouterr().err == ""
    assert caplog.records == []
    assert {Path(w.path).name for w in report.warnings} == {"cut.pdf"}
    assert "EOF marker not found" in [w.message for w in report.warnings]
    assert {"path": str(docs / "cut.pdf"), "message": "EOF marker not found"} in (
        report.as_json()["warnings"]  # type: ignore[operator]
    )
    assert reasons(report)["cut.pdf"] == "corrupt PDF (PdfStreamError)"
    assert report.added == 2


def test_repeated_library_warnings_are_reported_once_with_a_count(
    pipeline: IngestPipeline, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import trafilatura

    real_extract = trafilatura.extract

    def noisy_extract(*args: Any, **kwargs: Any) -> Any:
        for _ in range(3):
            logging.getLogger("trafilatura.core").warning("discarding data: %s", "None")
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "extract", noisy_extract)
    (docs / "page.html").write_text(
        "<html><body><article><p>The leaders met in Nara again.</p></article></body></html>"
    )
    report = pipeline.ingest([docs])
    assert [(Path(w.path).name, w.message) for w in report.warnings] == [
        ("page.html", "discarding data: None (3 times)")
    ]
