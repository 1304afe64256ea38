"""Hybrid retrieval: dense (Chroma) and lexical (BM25) candidates fused by reciprocal rank."""

from dataclasses import dataclass

from server.base.documents import Chunk
from server.retrieval.dates import EVERY_DOCUMENT, DocumentDates, Scope
from server.retrieval.indexes import IndexSet, IndexSource
from server.storage.embeddings import Embedder
from server.storage.lexical import LexicalIndex
from server.storage.store import ChunkStore


@dataclass(frozen=True)
class Passage:
    chunk: Chunk
    score: float  # the fused score that orders passages
    similarity: float | None  # cosine to the query, when the dense side found it


@dataclass(frozen=True)
class Retrieval:
    passages: list[Passage]


class HybridRetriever:
    def __init__(
        self,
        store: ChunkStore,
        lexical: LexicalIndex,
        embedder: Embedder,
        candidates: int,
        rrf_k: int,
        generation: str = "",
    ) -> None:
        self.indexes = IndexSet(store, lexical, generation)
        self.embedder = embedder
        self._candidates = candidates
        self._rrf_k = rrf_k
        self._dates = DocumentDates()  # read on the first scoped question

    @property
    def store(self) -> ChunkStore:
        return self.indexes.store

    def refresh(self, source: IndexSource) -> bool:
        """Picks up what was ingested since the indexes were loaded. Requests keep reading
        the old set until the new one is swapped in whole."""
        newer = source.newer_than(self.indexes)
        if newer is None:
            return False
        self.indexes = newer
        return True

    def retrieve(self, query: str, k: int, scope: Scope = EVERY_DOCUMENT) -> Retrieval:
        """The k best passages of the documents in scope, searched as if no other were
        stored (the evaluation leaves out the articles that hold an answer; a question asked
        as of a date reads the news of the days before it)."""
        vector = self.embedder.embed_query(query)
        pool = max(self._candidates, k)
        indexes = self.indexes  # one generation throughout, whatever a refresh swaps in
        store, lexical_index = indexes.store, indexes.lexical
        only = self._dates.only(store, scope)
        dense = store.dense_search(vector, pool, scope.exclude, only)
        mask = self._dates.lexical_mask(store, lexical_index.chunk_ids, scope, only)
        lexical = lexical_index.search(query, pool, mask)
        fused = reciprocal_rank_fusion(
            [[c.chunk_id for c, _ in dense], [chunk_id for chunk_id, _ in lexical]], self._rrf_k
        )
        best = sorted(fused, key=lambda chunk_id: -fused[chunk_id])[:k]
        chunks = {c.chunk_id: c for c, _ in dense}
        missing = [chunk_id for chunk_id in best if chunk_id not in chunks]
        chunks.update({c.chunk_id: c for c in store.get(missing)})
        similarity = {c.chunk_id: s for c, s in dense}
        passages = [Passage(chunks[i], fused[i], similarity.get(i)) for i in best if i in chunks]
        return Retrieval(passages)


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """Cormack et al. (2009): each list adds 1 / (k + rank) to the items it ranks."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores
