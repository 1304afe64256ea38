"""The index set's lifecycle: loaded whole, refreshed only when the store changed, and a
retriever swapping in the new set by reference (real Chroma and BM25, fake embedder)."""

from pathlib import Path

from server.retrieval.hybrid import HybridRetriever
from server.retrieval.indexes import IndexSource
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder, fake_pipeline


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_source_loads_the_store_and_its_bm25_index_as_one_generation(tmp_path: Path) -> None:
    pipeline = fake_pipeline(tmp_path, FakeEmbedder())
    pipeline.ingest([_write(tmp_path / "docs", "a.txt", "The leaders met in Nara.")])
    source = IndexSource(lambda: pipeline.store, tmp_path / "store" / "lexical")

    indexes = source.load()

    assert indexes.generation == pipeline.store.generation() != ""
    assert indexes.lexical.version == pipeline.store.version()
    assert len(indexes.lexical.chunk_ids) == pipeline.store.count() == 1


def test_nothing_is_reloaded_until_an_ingest_changes_the_store(tmp_path: Path) -> None:
    pipeline = fake_pipeline(tmp_path, FakeEmbedder())
    docs = tmp_path / "docs"
    pipeline.ingest([_write(docs, "a.txt", "The leaders met in Nara.")])
    opened: list[int] = []
    forgotten: list[int] = []

    def open_store() -> ChunkStore:
        opened.append(1)
        return pipeline.store

    source = IndexSource(open_store, tmp_path / "store" / "lexical", lambda: forgotten.append(1))
    first = source.load()
    assert source.newer_than(first) is None
    assert (len(opened), forgotten) == (1, [])

    pipeline.ingest([_write(docs, "b.txt", "They agreed on shuttle diplomacy.")])
    newer = source.newer_than(first)

    assert newer is not None and newer.generation != first.generation
    assert (len(opened), forgotten) == (2, [1])  # the cached store dropped, then reopened
    assert len(newer.lexical.chunk_ids) == 2
    assert source.newer_than(newer) is None


def test_a_retriever_answers_from_the_new_set_after_a_refresh(tmp_path: Path) -> None:
    embedder = FakeEmbedder()
    pipeline = fake_pipeline(tmp_path, embedder)
    docs = tmp_path / "docs"
    pipeline.ingest([_write(docs, "a.txt", "The leaders met in Nara.")])
    source = IndexSource(lambda: pipeline.store, tmp_path / "store" / "lexical")
    loaded = source.load()
    retriever = HybridRetriever(loaded.store, loaded.lexical, embedder, 10, 60, loaded.generation)
    before = retriever.indexes

    assert retriever.refresh(source) is False and retriever.indexes is before
    pipeline.ingest([_write(docs, "b.txt", "They agreed on shuttle diplomacy.")])
    assert retriever.refresh(source) is True

    assert retriever.indexes is not before  # swapped whole, not edited in place
    found = retriever.retrieve("shuttle diplomacy", 1).passages
    assert [p.chunk.text for p in found] == ["They agreed on shuttle diplomacy."]
