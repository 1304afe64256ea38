import errno
from pathlib import Path

import pytest

from ingest.pipeline import IngestPipeline
from server.errors import PathNotFoundError, StoreUnavailableError, storage_problem
from server.storage.lexical import LexicalIndex
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder
from tests.pdfs import make_pdf


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Alpha\n\nThe summit was held in Nara. Leaders met.\n")
    (folder / "sub" / "b.txt").write_text("Defense cooperation was agreed.\n")
    (folder / ".hidden.txt").write_text("never read")
    return folder


def test_ingesting_twice_adds_and_embeds_nothing_new(
    pipeline: IngestPipeline, docs: Path, fake: FakeEmbedder
) -> None:
    first = pipeline.ingest([docs])
    embedded = len(fake.embedded)
    second = pipeline.ingest([docs])
    assert (first.added, first.unchanged, first.chunks) == (2, 0, 2)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    assert second.chunks == first.chunks
    assert len(fake.embedded) == embedded


def test_an_edited_file_replaces_its_old_chunks(pipeline: IngestPipeline, docs: Path) -> None:
    pipeline.ingest([docs])
    (docs / "sub" / "b.txt").write_text("Economic security talks will continue next year.\n")
    report = pipeline.ingest([docs])
    texts = [text for _, text, _ in pipeline.store.records()]
    assert (report.updated, report.unchanged, report.chunks) == (1, 1, 2)
    assert "Economic security talks will continue next year." in texts
    assert "Defense cooperation was agreed." not in texts


def test_prune_removes_documents_whose_files_are_gone(pipeline: IngestPipeline, docs: Path) -> None:
    pipeline.ingest([docs])
    (docs / "sub" / "b.txt").unlink()
    assert pipeline.ingest([docs]).removed == 0
    report = pipeline.ingest([docs], prune=True)
    assert (report.removed, report.chunks) == (1, 1)


def test_a_corrupt_pdf_is_reported_while_good_files_go_in(
    pipeline: IngestPipeline, docs: Path
) -> None:
    (docs / "bad.pdf").write_bytes(b"%PDF-1.4 garbage")
    (docs / "good.pdf").write_bytes(make_pdf(["Page one of the statement."]))
    report = pipeline.ingest([docs])
    assert [(Path(s.path).name, s.reason.split(" (")[0]) for s in report.skipped] == [
        ("bad.pdf", "corrupt PDF")
    ]
    assert report.added == 3


def test_a_file_that_turns_unreadable_keeps_what_was_stored(
    pipeline: IngestPipeline, docs: Path
) -> None:
    pipeline.ingest([docs])
    (docs / "a.md").write_bytes(b"\xff\xfe broken")
    report = pipeline.ingest([docs], prune=True)
    assert [Path(s.path).name for s in report.skipped] == ["a.md"]
    assert (report.removed, report.chunks) == (0, 2)


def test_records_dropped_from_a_jsonl_file_are_removed(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"_id": "1", "text": "One."}\n{"_id": "2", "text": "Two."}\n')
    pipeline.ingest([path])
    path.write_text('{"_id": "1", "text": "One."}\n')
    report = pipeline.ingest([path])
    assert (report.unchanged, report.removed, report.chunks) == (1, 1, 1)


def test_the_lexical_index_follows_the_store(
    pipeline: IngestPipeline, docs: Path, tmp_path: Path
) -> None:
    pipeline.ingest([docs])
    index = LexicalIndex.load(tmp_path / "store" / "lexical")
    assert index is not None
    assert index.version == pipeline.store.version()
    [(chunk_id, _)] = index.search("defense", 5)
    assert pipeline.store.get([chunk_id])[0].text == "Defense cooperation was agreed."


def test_a_missing_path_is_an_error_before_anything_changes(
    pipeline: IngestPipeline, docs: Path
) -> None:
    with pytest.raises(PathNotFoundError, match="No such file or folder"):
        pipeline.ingest([docs, docs / "missing.md"])
    assert pipeline.store.count() == 0


def test_a_repeated_jsonl_id_keeps_the_first_record_and_stays_stable(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(
        '{"_id": "1", "text": "Alpha text."}\n{"_id": "1", "text": "Beta text."}\n'
        '{"_id": "1", "text": "Alpha text."}\n'
    )
    reports = [pipeline.ingest([path]) for _ in range(3)]
    assert [r.chunks for r in reports] == [1, 1, 1]
    assert [s.path.rsplit(":", 1)[1] for s in reports[0].skipped] == ["2", "3"]
    assert [text for _, text, _ in pipeline.store.records()] == ["Alpha text."]


def test_a_metadata_change_alone_updates_the_document(
    pipeline: IngestPipeline, tmp_path: Path
) -> None:
    path = tmp_path / "meta.jsonl"
    path.write_text('{"_id": "1", "text": "Alpha.", "metadata": {"year": 2023}}\n')
    pipeline.ingest([path])
    path.write_text('{"_id": "1", "text": "Alpha.", "metadata": {"year": 2024}}\n')
    report = pipeline.ingest([path])
    [(_, _, meta)] = list(pipeline.store.records())
    assert (report.updated, report.chunks, meta["meta_year"]) == (1, 1, 2024)


def test_a_bm25_index_that_cannot_be_saved_is_a_clear_error_and_leaves_no_staging(
    pipeline: IngestPipeline, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(self: LexicalIndex, folder: Path) -> None:
        (folder / "manifest.json").write_text("{")  # half written when the disk filled
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LexicalIndex, "_write", full_disk)
    with pytest.raises(StoreUnavailableError, match=r"BM25 index .*: its disk is full"):
        pipeline.ingest([docs])
    assert [p.name for p in (tmp_path / "store").iterdir() if p.name.startswith(".")] == []
    monkeypatch.undo()
    again = pipeline.ingest([docs])  # the chunks went in; the rerun saves the index
    assert (again.added, again.unchanged) == (0, 2)
    assert LexicalIndex.load(tmp_path / "store" / "lexical") is not None


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "its disk is full"),
        (OSError(errno.EROFS, "Read-only file system"), "it is read-only"),
        (
            RuntimeError("error returned from database: (code: 13) database or disk is full"),
            "its disk is full",
        ),
        (RuntimeError("(code: 776) attempt to write a readonly database"), "it is read-only"),
        (RuntimeError("Query error: connection refused"), None),
        (
            RuntimeError("error returned from database: (code: 1032) attempt to write a r/o db"),
            "it is read-only",
        ),  # an extended read-only code
        (OSError(errno.EACCES, "Permission denied"), None),
        (RuntimeError("(code: 14) unable to open database file"), None),
    ],
)
def test_storage_problems_are_told_apart(error: Exception, problem: str | None) -> None:
    assert storage_problem(error) == problem


def test_the_document_count_is_recorded_by_the_ingest_and_read_without_a_scan(
    pipeline: IngestPipeline, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.ingest([docs])
    (docs / "c.md").write_text("# Gamma\n\nTrade talks continue.\n")
    pipeline.ingest([docs])
    store = pipeline.store
    assert store.generation() == store.version()
    monkeypatch.setattr(ChunkStore, "records", lambda *args, **kwargs: iter(()))
    assert store.document_count() == 3  # as recorded: the (now empty) scan is not used
