import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import IngestPipeline
from server.base.sentences import split_sentences
from server.errors import StoreUnavailableError
from server.storage.chroma import open_persistent_client
from server.storage.embeddings import CachedEncoder
from server.storage.sentence_vectors import SentenceVectorStore
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder

SENTENCES = ["The summit was held in Nara.", "Both leaders met for two days."]


@pytest.fixture
def stored(tmp_path: Path) -> SentenceVectorStore:
    opened = SentenceVectorStore.open(tmp_path / "vectors" / "s.sqlite3", 60)
    assert opened is not None
    return opened


@dataclass
class Talks:
    """A store of fake-embedded chunks, a folder of documents, and ingests into the store."""

    model: FakeEmbedder
    store: ChunkStore
    docs: Path
    lexical: Path

    def pipeline(self, vectors: SentenceVectorStore | None = None) -> IngestPipeline:
        chunker = Chunker(self.model.count_tokens, ChunkingPolicy(64, 24, 1))
        return IngestPipeline(self.store, self.model, chunker, self.lexical, 4, vectors)

    def sentences(self) -> list[str]:
        """Every sentence of every stored chunk, as answers split them."""
        return [s for _, t, _ in self.store.records() for s in split_sentences(t)]


@pytest.fixture
def talks(tmp_path: Path) -> Talks:
    model = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(tmp_path / "store"), "talks", "fake")
    (tmp_path / "docs").mkdir()
    return Talks(model, store, tmp_path / "docs", tmp_path / "lexical")


LONG_TEXT = " ".join(f"Sentence number {n} of the talks in Nara." for n in range(30))


def test_stored_vectors_come_back_for_their_sentences_only(stored: SentenceVectorStore) -> None:
    vectors = FakeEmbedder().encode(SENTENCES)
    stored.put(SENTENCES, vectors)
    found = stored.get([*SENTENCES, "Never stored."])
    assert sorted(found) == sorted(SENTENCES)
    for row, sentence in enumerate(SENTENCES):
        assert found[sentence].dtype == np.float32
        np.testing.assert_allclose(found[sentence], vectors[row], atol=1e-3)  # float16
    assert stored.missing(["Never stored.", SENTENCES[0], "Never stored."]) == ["Never stored."]


def test_a_store_that_cannot_be_created_is_none_and_answers_go_on(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    assert SentenceVectorStore.open(tmp_path / "file" / "s.sqlite3", 60) is None


def test_while_another_process_writes_answers_read_and_skip_their_write_back(
    stored: SentenceVectorStore, tmp_path: Path
) -> None:
    stored.put(SENTENCES[:1], FakeEmbedder().encode(SENTENCES[:1]))
    answering = SentenceVectorStore.open(tmp_path / "vectors" / "s.sqlite3", 0)
    assert answering is not None
    blocker = sqlite3.connect(tmp_path / "vectors" / "s.sqlite3", timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # an ingest in the middle of a write
    try:
        assert sorted(answering.get(SENTENCES)) == SENTENCES[:1]  # reads do not wait
        with pytest.raises(StoreUnavailableError, match="Cannot store sentence vectors"):
            answering.put(SENTENCES, FakeEmbedder().encode(SENTENCES))  # at once, no wait
        vectors = CachedEncoder(FakeEmbedder(), 10, answering).encode(SENTENCES)
    finally:
        blocker.rollback()
        blocker.close()
    assert vectors.shape == (2, 32)
    assert stored.missing(SENTENCES) == SENTENCES[1:]


def test_transient_texts_are_not_kept_on_disk(stored: SentenceVectorStore) -> None:
    reply = "A model wrote this sentence."
    CachedEncoder(FakeEmbedder(), 10, stored).encode([reply, *SENTENCES], transient={reply})
    assert stored.missing([reply, *SENTENCES]) == [reply]


def test_the_encoder_reads_stored_vectors_and_stores_what_it_encodes(
    stored: SentenceVectorStore,
) -> None:
    stored.put(SENTENCES[:1], FakeEmbedder().encode(SENTENCES[:1]))
    model = FakeEmbedder()
    vectors = CachedEncoder(model, 0, stored).encode(SENTENCES)
    assert model.embedded == SENTENCES[1:]  # the stored one was not encoded
    np.testing.assert_allclose(vectors, FakeEmbedder().encode(SENTENCES), atol=1e-3)
    another_process = FakeEmbedder()
    CachedEncoder(another_process, 0, stored).encode(SENTENCES)
    assert another_process.embedded == []


def test_an_ingest_stores_the_vectors_of_every_sentence_answers_will_read(
    talks: Talks, stored: SentenceVectorStore
) -> None:
    pipeline = talks.pipeline(stored)
    (talks.docs / "a.md").write_text(f"# Talks\n\n{LONG_TEXT}\n")
    pipeline.ingest([talks.docs])
    assert talks.store.count() > 1  # several chunks
    assert stored.missing(talks.sentences()) == []
    before = len(talks.model.embedded)
    (talks.docs / "b.md").write_text(
        "# More\n\nSentence number 3 of the talks in Nara. A new one.\n"
    )
    pipeline.ingest([talks.docs])
    new = talks.model.embedded[before:]
    assert "A new one." in new and "Sentence number 3 of the talks in Nara." not in new


def test_readers_and_a_writer_at_once_on_one_file(tmp_path: Path) -> None:
    path, failures = tmp_path / "s.sqlite3", []
    writer, reader = SentenceVectorStore.open(path, 60), SentenceVectorStore.open(path, 60)
    assert writer is not None and reader is not None
    texts = [f"sentence {n}" for n in range(400)]

    def write() -> None:
        for start in range(0, len(texts), 20):
            batch = texts[start : start + 20]
            writer.put(batch, FakeEmbedder().encode(batch))

    def read() -> None:
        for _ in range(100):
            found = reader.get(texts)
            if any(v.shape != (32,) for v in found.values()):
                failures.append("a partial vector")

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == [] and reader.missing(texts) == []


def test_vectors_from_the_model_and_from_the_file_are_exactly_equal(
    stored: SentenceVectorStore,
) -> None:
    """So a server with the file and one without give the same answers."""
    from_model = CachedEncoder(FakeEmbedder(), 0).encode(SENTENCES)
    CachedEncoder(FakeEmbedder(), 0, stored).encode(SENTENCES)  # fills the file
    model = FakeEmbedder()
    from_file = CachedEncoder(model, 0, stored).encode(SENTENCES)
    assert model.embedded == [] and np.array_equal(from_model, from_file)


def test_an_ingest_with_the_file_fills_in_chunks_stored_without_it(
    talks: Talks, stored: SentenceVectorStore
) -> None:
    (talks.docs / "a.md").write_text(f"# Talks\n\n{LONG_TEXT}\n")
    talks.pipeline().ingest([talks.docs])
    assert len(stored) == 0  # an ingest without the file stores none
    with_file = talks.pipeline(stored)
    with_file.ingest([talks.docs])  # nothing new to add, yet the file is filled in
    assert stored.missing(talks.sentences()) == []
    assert stored.complete_for() == talks.store.version()
    before = len(talks.model.embedded)
    with_file.ingest([talks.docs])  # complete: not read again, nothing encoded
    assert talks.model.embedded[before:] == []


def test_a_file_behind_the_stored_chunks_is_filled_in_by_the_next_ingest(
    talks: Talks, stored: SentenceVectorStore
) -> None:
    (talks.docs / "a.md").write_text(
        "# Talks\n\nThe talks were held in Nara. They lasted two days.\n"
    )
    with_file = talks.pipeline(stored)
    with_file.ingest([talks.docs])
    # An ingest without the file adds chunks (as one killed before publishing would).
    (talks.docs / "b.md").write_text("# More\n\nA later statement came from Seoul.\n")
    talks.pipeline().ingest([talks.docs])
    assert stored.missing(["A later statement came from Seoul."]) != []
    with_file.ingest([talks.docs])
    assert stored.missing(["A later statement came from Seoul."]) == []
