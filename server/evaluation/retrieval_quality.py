"""Retrieval quality on a dataset in the BEIR layout, scored as BEIR scores it.

Each test query is run three ways — dense only (Chroma), BM25 only, and the hybrid the
assistant uses (both fused by reciprocal rank) — over the chunks of the dataset's corpus;
`served` is the hybrid at the depths the assistant serves (SUMMIT_RETRIEVAL_CANDIDATES from
each retriever), the figures an answer actually gets;
a document's score is its best chunk's. nDCG@10 (linear gains, trec_eval's formula),
Recall@100 and MRR@10 are averaged over the queries that have judgments.
"""

import csv
import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from server.errors import SummitError
from server.evaluation.jsonl import json_objects
from server.retrieval.hybrid import reciprocal_rank_fusion
from server.retrieval.indexes import IndexSet
from server.storage.embeddings import Embedder

Qrels = dict[str, dict[str, int]]  # query id -> document id -> relevance grade
Ranking = list[str]  # document ids, best first
METHODS = ("dense", "bm25", "hybrid", "served")  # served: hybrid at the served depths
WHOLE_DOCUMENTS = "dense-whole-doc"  # the published figures' setting, as a reproduction check


@dataclass(frozen=True)
class BeirDataset:
    corpus: Path
    queries: dict[str, str]  # the judged test queries only
    qrels: Qrels


class MethodScores(BaseModel):
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    seconds: float  # retrieval time for all queries, query embedding included


class RetrievalReport(BaseModel):
    dataset: str
    queries: int
    documents: int
    chunks: int
    store: str
    store_reused: bool  # the corpus was already in the store: nothing was embedded
    ingest_seconds: float
    methods: dict[str, MethodScores]


def load_beir(folder: Path, split: str = "test") -> BeirDataset:
    corpus, queries_file = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels_file = folder / "qrels" / f"{split}.tsv"
    for needed in (corpus, queries_file, qrels_file):
        if not needed.is_file():
            raise SummitError(f"{folder} is not a BEIR dataset: {needed.name} is missing.")
    qrels = _read_qrels(qrels_file)
    queries = {qid: text for qid, text in _read_queries(queries_file) if qid in qrels}
    if not queries:
        raise SummitError(f"No query in {queries_file.name} has a judgment in {qrels_file}.")
    return BeirDataset(corpus, queries, {qid: qrels[qid] for qid in queries})


def _read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t"):
                if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
                    continue  # the header line, or a blank one
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    except (OSError, UnicodeDecodeError) as exc:
        raise SummitError(f"Cannot read the judgments {path}.") from exc
    return qrels


def _read_queries(path: Path) -> Iterable[tuple[str, str]]:
    for number, record in json_objects(path, "queries", "query"):
        if "_id" not in record or "text" not in record:
            raise SummitError(f"{path}:{number}: not a query record.")
        yield str(record["_id"]), str(record["text"])


# ------------------------------------------------------------------ metrics


def ndcg_at(ranking: Ranking, relevant: dict[str, int], k: int) -> float:
    """trec_eval's ndcg_cut: gain = grade, discount log2(rank + 1)."""
    gains = [relevant.get(doc, 0) for doc in ranking[:k]]
    ideal = sorted((g for g in relevant.values() if g > 0), reverse=True)[:k]
    best = _dcg(ideal)
    return _dcg(gains) / best if best > 0 else 0.0


def _dcg(gains: list[int]) -> float:
    return sum(g / math.log2(rank + 2) for rank, g in enumerate(gains) if g > 0)


def recall_at(ranking: Ranking, relevant: dict[str, int], k: int) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranking: Ranking, relevant: dict[str, int], k: int) -> float:
    for rank, doc in enumerate(ranking[:k], start=1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def score_runs(runs: dict[str, Ranking], qrels: Qrels) -> tuple[float, float, float]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the judged queries (unranked counts 0)."""
    totals = [0.0, 0.0, 0.0]
    for qid, relevant in qrels.items():
        ranking = runs.get(qid, [])
        totals[0] += ndcg_at(ranking, relevant, 10)
        totals[1] += recall_at(ranking, relevant, 100)
        totals[2] += mrr_at(ranking, relevant, 10)
    return tuple(round(total / len(qrels), 4) for total in totals)  # type: ignore[return-value]


def scores_of(runs: dict[str, Ranking], qrels: Qrels, seconds: float) -> MethodScores:
    ndcg, recall, mrr = score_runs(runs, qrels)
    return MethodScores(
        ndcg_at_10=ndcg, recall_at_100=recall, mrr_at_10=mrr, seconds=round(seconds, 2)
    )


# ------------------------------------------------------------------ running the queries


class RetrievalEvaluator:
    def __init__(
        self,
        indexes: IndexSet,
        embedder: Embedder,
        rrf_k: int,
        depth: int,
        served_depth: int,
    ) -> None:
        self._store = indexes.store
        self._lexical = indexes.lexical
        self._embedder = embedder
        self._rrf_k = rrf_k
        self._depth = depth  # chunks taken from each retriever
        self._served_depth = min(served_depth, depth)  # ... by the assistant as served
        self._doc_of = {
            chunk_id: meta["doc_id"] for chunk_id, _, meta in self._store.records(False)
        }

    def evaluate(
        self, dataset: BeirDataset, whole_documents: Path | None = None
    ) -> dict[str, MethodScores]:
        """Every method's scores; with a cache file for the whole-document vectors, the
        published figures' setting too."""
        methods = self._chunk_methods(dataset)
        if whole_documents is not None:
            runs, seconds = whole_document_runs(dataset, self._embedder, whole_documents)
            methods[WHOLE_DOCUMENTS] = scores_of(runs, dataset.qrels, seconds)
        return methods

    def _chunk_methods(self, dataset: BeirDataset) -> dict[str, MethodScores]:
        runs: dict[str, dict[str, list[str]]] = {method: {} for method in METHODS}
        seconds = dict.fromkeys(METHODS, 0.0)
        for qid, query in dataset.queries.items():
            started = time.perf_counter()
            runs["dense"][qid] = dense = self._dense(query)
            dense_done = time.perf_counter()
            runs["bm25"][qid] = lexical = self._bm25(query)
            bm25_done = time.perf_counter()
            runs["hybrid"][qid] = self._fuse(dense, lexical)
            hybrid_done = time.perf_counter()
            served = self._served_depth  # the top of each ranking is what a shallower search gives
            runs["served"][qid] = self._fuse(dense[:served], lexical[:served])
            seconds["served"] += time.perf_counter() - hybrid_done + (hybrid_done - started)
            seconds["dense"] += dense_done - started
            seconds["bm25"] += bm25_done - dense_done
            seconds["hybrid"] += hybrid_done - started
        return {
            method: self._scores(runs[method], dataset.qrels, seconds[method]) for method in METHODS
        }

    def _dense(self, query: str) -> list[str]:
        vector = self._embedder.embed_query(query)
        return [chunk.chunk_id for chunk, _ in self._store.dense_search(vector, self._depth)]

    def _bm25(self, query: str) -> list[str]:
        return [chunk_id for chunk_id, _ in self._lexical.search(query, self._depth)]

    def _fuse(self, dense: list[str], lexical: list[str]) -> list[str]:
        fused = reciprocal_rank_fusion([dense, lexical], self._rrf_k)
        return sorted(fused, key=lambda chunk_id: -fused[chunk_id])

    def _scores(self, runs: dict[str, list[str]], qrels: Qrels, seconds: float) -> MethodScores:
        documents = {qid: self._documents(chunks) for qid, chunks in runs.items()}
        return scores_of(documents, qrels, seconds)

    def _documents(self, chunk_ranking: list[str]) -> Ranking:
        """Documents in the order of their best chunk."""
        return list(dict.fromkeys(self._doc_of[c] for c in chunk_ranking if c in self._doc_of))


def whole_document_runs(
    dataset: BeirDataset, embedder: Embedder, cache: Path, depth: int = 100
) -> tuple[dict[str, Ranking], float]:
    """Dense retrieval as the published all-MiniLM-L6-v2 figures were made (MTEB): one
    vector a document from title + " " + text, cut by the model at its maximum length,
    exact cosine search. Document vectors are cached beside the store. Returns the runs and
    the seconds spent on the queries."""
    import numpy as np

    ids, texts = _whole_documents(dataset.corpus)
    if cache.is_file():
        vectors = np.load(cache)
    else:
        vectors = embedder.encode(texts)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, vectors)
    started = time.perf_counter()
    query_ids = list(dataset.queries)
    scores = embedder.encode([dataset.queries[q] for q in query_ids]) @ vectors.T
    runs = {
        qid: [ids[i] for i in np.argsort(-row)[:depth]]
        for qid, row in zip(query_ids, scores, strict=True)
    }
    return runs, time.perf_counter() - started


def _whole_documents(corpus: Path) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with corpus.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                ids.append(str(record.get("_id", record.get("id"))))
                texts.append(f"{record.get('title') or ''} {record.get('text') or ''}".strip())
    return ids, texts
