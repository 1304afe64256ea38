"""Retrieval over the documents in scope, on a real Chroma store (fake vectors): documents
left out are searched as if not stored, and a question asked as of a date reads the news of
the two weeks before it and the documents without a date."""

import datetime
import json

import pytest

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import IngestPipeline
from server.retrieval.dates import Scope
from server.retrieval.hybrid import HybridRetriever
from server.storage.chroma import open_persistent_client
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder

STORIES = [
    ("storm-2019", "2019-03-02", "A storm closed the harbour bridge for two days."),
    ("storm-2023", "2023-03-10", "A storm closed the harbour bridge for a week."),
    ("storm-later", "2023-04-20", "A storm closed the harbour bridge again."),
]
UNDATED = ("storm-guide", None, "Why a storm closes the harbour bridge, explained.")


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> HybridRetriever:
    folder = tmp_path_factory.mktemp("scope")
    records = [
        {"_id": doc, "title": doc, "text": text, "metadata": {"published": day} if day else {}}
        for doc, day, text in [*STORIES, UNDATED]
    ]
    corpus = folder / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in records))
    embedder = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(folder / "store"), "news", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    pipeline = IngestPipeline(store, embedder, chunker, folder / "lexical", batch_size=8)
    pipeline.ingest([corpus])
    return HybridRetriever(store, pipeline.sync_lexical_index(), embedder, 10, 60)


def documents(retriever: HybridRetriever, scope: Scope) -> set[str]:
    retrieval = retriever.retrieve("storm harbour bridge", 10, scope)
    return {p.chunk.doc_id for p in retrieval.passages}


def test_every_document_is_searched_by_default(retriever: HybridRetriever) -> None:
    assert documents(retriever, Scope()) == {
        "storm-2019",
        "storm-2023",
        "storm-later",
        "storm-guide",
    }


def test_documents_left_out_are_not_searched(retriever: HybridRetriever) -> None:
    assert documents(retriever, Scope(exclude=frozenset({"storm-2023", "storm-guide"}))) == {
        "storm-2019",
        "storm-later",
    }


def test_as_of_a_date_only_the_weeks_before_it_and_undated_documents_are_searched(
    retriever: HybridRetriever,
) -> None:
    scope = Scope(as_of=datetime.date(2023, 3, 15))
    assert documents(retriever, scope) == {"storm-2023", "storm-guide"}
    both = Scope(exclude=frozenset({"storm-2023"}), as_of=datetime.date(2023, 3, 15))
    assert documents(retriever, both) == {"storm-guide"}


def test_as_of_the_first_or_last_day_of_the_calendar_searches_undated_documents(
    retriever: HybridRetriever,
) -> None:
    # The window before 0001-01-01 and the day after 9999-12-31 are not dates: held within.
    assert documents(retriever, Scope(as_of=datetime.date.min)) == {"storm-guide"}
    assert documents(retriever, Scope(as_of=datetime.date.max)) == {"storm-guide"}
