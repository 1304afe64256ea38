"""A document is what it says, not where it lies: a copied folder adds no passages, a moved
one keeps its passages (not embedded again) under the new path."""

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ingest import chunker as chunker_module
from ingest.pipeline import IngestPipeline
from ingest.report import Duplicate, IngestReport, Warned
from server.base.documents import Block, SourceDocument
from server.cli import app, render
from tests.fakes import FakeEmbedder
from tests.pdfs import make_pdf


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "clone1" / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Alpha\n\nThe summit was held in Nara. Leaders met.\n")
    (folder / "sub" / "b.pdf").write_bytes(make_pdf(["Defense cooperation was agreed."]))
    (folder / "c.jsonl").write_text(
        '{"_id": "1", "text": "Trade talks continue."}\n{"_id": "2", "text": "Energy deal."}\n'
    )
    return folder


def sources(pipeline: IngestPipeline) -> set[str]:
    return pipeline.store.sources()


def cited_sources(pipeline: IngestPipeline, fake: FakeEmbedder, question: str) -> list[str]:
    """Where the passages answers cite say they come from."""
    vector = fake.embed_query(question)
    return [chunk.source for chunk, _ in pipeline.store.dense_search(vector, 10)]


def test_a_copy_of_a_folder_adds_no_passages_and_is_reported_as_a_duplicate(
    pipeline: IngestPipeline, docs: Path, tmp_path: Path
) -> None:
    first = pipeline.ingest([docs])
    copy = tmp_path / "clone2" / "docs"
    shutil.copytree(docs, copy)
    second = pipeline.ingest([copy])
    assert (second.added, second.chunks) == (0, first.chunks)
    assert sorted((d.path, d.of, d.documents) for d in second.duplicates) == [
        (str(copy / "a.md"), str(docs / "a.md"), 1),
        (str(copy / "c.jsonl"), str(docs / "c.jsonl"), 2),
        (str(copy / "sub" / "b.pdf"), str(docs / "sub" / "b.pdf"), 1),
    ]
    assert pipeline.ingest([docs, copy]).chunks == first.chunks  # and so on, every time
    assert all(s.startswith(str(docs)) for s in sources(pipeline))


def test_two_copies_ingested_at_once_store_one(pipeline: IngestPipeline, docs: Path) -> None:
    shutil.copy(docs / "a.md", docs / "a copy.md")
    report = pipeline.ingest([docs])
    assert [(Path(d.path).name, Path(d.of).name) for d in report.duplicates] == [
        ("a.md", "a copy.md")  # the first path in order keeps the passages
    ]
    assert report.as_json()["duplicates"] == [
        {"path": str(docs / "a.md"), "of": str(docs / "a copy.md"), "documents": 1}
    ]
    assert str(docs / "a.md") not in sources(pipeline)


def test_a_moved_folder_with_prune_keeps_one_copy_under_the_new_path_unembedded(
    pipeline: IngestPipeline, docs: Path, tmp_path: Path, fake: FakeEmbedder
) -> None:
    first = pipeline.ingest([docs])
    embedded = len(fake.embedded)
    before = pipeline._store.generation()
    moved = tmp_path / "elsewhere" / "docs"
    shutil.move(docs.parent, moved.parent)
    report = pipeline.ingest([moved], prune=True)
    assert (report.moved, report.added, report.removed, report.chunks) == (4, 0, 0, first.chunks)
    assert pipeline._store.generation() != before, "running servers refresh to the new path"
    assert len(fake.embedded) == embedded  # relabelled, not embedded again
    assert all(s.startswith(str(moved)) for s in sources(pipeline))
    assert cited_sources(pipeline, fake, "Where was the summit held?")[0] == str(moved / "a.md")
    again = pipeline.ingest([moved], prune=True)
    assert (again.unchanged, again.moved, again.chunks) == (4, 0, first.chunks)


def test_a_record_moved_to_another_file_is_reported_as_moved_only(
    pipeline: IngestPipeline, docs: Path, fake: FakeEmbedder
) -> None:
    first = pipeline.ingest([docs])
    (docs / "c.jsonl").write_text('{"_id": "1", "text": "Trade talks continue."}\n')
    (docs / "d.jsonl").write_text('{"_id": "2", "text": "Energy deal."}\n')
    embedded = len(fake.embedded)
    report = pipeline.ingest([docs])
    assert (report.moved, report.removed, report.added) == (1, 0, 0)
    assert (report.chunks, len(fake.embedded)) == (first.chunks, embedded)
    assert str(docs / "d.jsonl") in sources(pipeline)


def test_a_copy_whose_original_was_since_edited_takes_its_passages_over(
    pipeline: IngestPipeline, docs: Path, fake: FakeEmbedder
) -> None:
    pipeline.ingest([docs])
    shutil.copy(docs / "a.md", docs / "z.md")
    (docs / "a.md").write_text("# Alpha\n\nThe summit moved to Osaka.\n")
    embedded = len(fake.embedded)
    report = pipeline.ingest([docs])
    texts = {meta["source"]: text for _, text, meta in pipeline.store.records()}
    assert (report.updated, report.moved, report.duplicates) == (1, 1, [])
    assert texts[str(docs / "z.md")] == "The summit was held in Nara. Leaders met."
    assert texts[str(docs / "a.md")] == "The summit moved to Osaka."
    assert fake.embedded[embedded:] == ["Alpha\nThe summit moved to Osaka."]


def _path_based_chunk_id(
    document: SourceDocument, block: Block, text: str, seen: dict[str, int]
) -> str:
    """Chunk ids as stores built before content identity have them: keyed by the path."""
    key = "\x00".join(
        [
            json.dumps(document.metadata, sort_keys=True, default=str),
            document.source,
            document.doc_id,
            document.title or "",
            block.section or "",
            str(block.page or ""),
            text,
        ]
    )
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    return hashlib.sha256(f"{key}\x00{occurrence}".encode()).hexdigest()[:32]


def test_a_store_built_with_path_ids_gets_new_ids_without_embedding_and_merges_copies(
    pipeline: IngestPipeline,
    docs: Path,
    tmp_path: Path,
    fake: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copy = tmp_path / "clone2" / "docs"
    shutil.copytree(docs, copy)
    monkeypatch.setattr(chunker_module, "_chunk_id", _path_based_chunk_id)
    old = pipeline.ingest([docs, copy])
    monkeypatch.undo()
    embedded = len(fake.embedded)
    upgraded = pipeline.ingest([docs, copy])
    assert len(fake.embedded) == embedded  # new ids, the vectors they had
    again = pipeline.ingest([docs, copy])
    assert (old.added, old.chunks) == (8, 8)  # two copies, as the old ids kept them
    assert (upgraded.updated, upgraded.chunks, len(upgraded.duplicates)) == (4, 4, 3)
    assert (again.unchanged, again.updated, again.chunks) == (4, 0, 4)
    assert all(s.startswith(str(docs)) for s in sources(pipeline))


@pytest.mark.e2e
def test_summit_ask_cites_the_new_path_of_a_moved_corpus(tmp_path: Path) -> None:
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    old, new = tmp_path / "old" / "corpus", tmp_path / "new" / "corpus"
    shutil.copytree(corpus, old)
    store = ["--store", str(tmp_path / "store")]
    first = CliRunner().invoke(app, ["ingest", str(old), "--json", *store])
    shutil.move(old.parent, new.parent)
    moved = CliRunner().invoke(app, ["ingest", str(new), "--prune", "--json", *store])
    asked = CliRunner().invoke(app, ["ask", "Where was the summit held?", "--json", *store])
    assert (first.exit_code, moved.exit_code, asked.exit_code) == (0, 0, 0)
    assert json.loads(moved.stdout)["chunks"] == json.loads(first.stdout)["chunks"]
    assert json.loads(moved.stdout)["moved"] == 1
    citations = json.loads(asked.stdout)["citations"]
    assert citations and {c["source"] for c in citations} == {str(new / "nara-summit.md")}


def test_the_words_report_names_copies_moves_and_warnings() -> None:
    report = IngestReport(added=1, moved=2, chunks=9)
    report.duplicates.append(Duplicate("/b/a.md", "/a/a.md", 1))
    report.warnings.append(Warned("/a/x.pdf", "EOF marker not found"))
    console = Console(file=io.StringIO(), width=200)
    render.print_ingest_report(console, report)
    assert console.file.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "Documents: 1 added, 0 updated, 0 unchanged, 0 removed, 2 moved. "
        "The store holds 9 passages.",
        "duplicate /b/a.md: 1 document already stored from /a/a.md, not added again",
        "warning /a/x.pdf: EOF marker not found",
    ]


def test_an_edited_document_embeds_only_its_changed_passages(
    pipeline: IngestPipeline, docs: Path, fake: FakeEmbedder
) -> None:
    sections = ["## One\n\nThe summit opened.", "## Two\n\nTalks went on.", "## Three\n\nIt ended."]
    (docs / "a.md").write_text("# Alpha\n\n" + "\n\n".join(sections) + "\n")
    pipeline.ingest([docs])
    (docs / "a.md").write_text(
        "# Alpha\n\n" + "\n\n".join(sections[:2]) + "\n\n## Three\n\nIt ran late.\n"
    )
    embedded = len(fake.embedded)
    report = pipeline.ingest([docs])
    assert (report.updated, report.chunks) == (1, 6)
    assert fake.embedded[embedded:] == ["Alpha\nIt ran late."]  # the other two kept their vectors
    hits = pipeline.store.dense_search(fake.embed_query("Talks went on."), 1)
    assert [chunk.text for chunk, _ in hits] == ["Talks went on."]
