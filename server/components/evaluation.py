"""The evaluation commands, wired: a dataset's corpus ingested into the store given, then
scored by the core's evaluators (server/evaluation/: answer_quality.py, retrieval_quality.py)."""

import time
from pathlib import Path

from ingest.pipeline import Progress
from server.answers.span_reader import shipped_reader
from server.components import (
    Notify,
    build_assistant,
    build_pipeline,
    ingest,
)
from server.components.store import build_embedder, index_source, open_store, store_layout
from server.evaluation.answer_quality import Asker, QAReport, evaluate_qa
from server.evaluation.question_sets import dataset_corpus, load_question_set
from server.evaluation.retrieval_quality import RetrievalEvaluator, RetrievalReport, load_beir
from server.settings import Settings


def evaluate_answers(
    settings: Settings, question_set: Path, notify: Notify | None = None, dated: bool = True
) -> QAReport:
    """Strict answer quality over a question set (server/evaluation/answer_quality.py). A QA
    folder's corpus is first ingested into the store given (nothing unchanged is re-embedded)."""
    items = load_question_set(question_set)
    if question_set.is_dir():
        ingest(settings, [dataset_corpus(question_set)], prune=True)
    served = settings.answers.answer_threshold
    if served is None:
        served = shipped_reader().threshold
    # Every answer given, with its confidence: the served answer is the same one when the
    # confidence reaches the served threshold, a refusal otherwise.
    assistant = build_assistant(settings.changed(answer_threshold=0.0), notify)
    asker = Asker(ask=lambda q, scope: assistant.ask(q, scope=scope), threshold=served)
    return evaluate_qa(asker, items, dated=dated)


def evaluate_retrieval(
    settings: Settings,
    dataset_dir: Path,
    depth: int,
    progress: Progress | None = None,
    whole_documents: bool = False,
) -> RetrievalReport:
    """Ingests the dataset's corpus into its own store (nothing is re-embedded when it is
    unchanged), then scores dense, BM25 and hybrid retrieval on its judged queries."""
    dataset = load_beir(dataset_dir)
    embedder = build_embedder(settings.embedding, bulk=True)
    store = open_store(settings.storage, settings.embedding)
    started = time.perf_counter()
    ingested = build_pipeline(settings, store, embedder).ingest([dataset.corpus], True, progress)
    ingest_seconds = time.perf_counter() - started
    indexes = index_source(settings.storage, settings.embedding).load(store)
    evaluator = RetrievalEvaluator(
        indexes, embedder, settings.answers.rrf_k, depth, settings.answers.retrieval_candidates
    )
    layout = store_layout(settings.storage, settings.embedding)
    cache = layout.whole_document_vectors(dataset.corpus.read_bytes()) if whole_documents else None
    return RetrievalReport(
        dataset=str(dataset_dir),
        queries=len(dataset.queries),
        documents=store.document_count(),
        chunks=ingested.chunks,
        store=str(settings.storage.store),
        store_reused=not (ingested.added or ingested.updated or ingested.removed),
        ingest_seconds=round(ingest_seconds, 1),
        methods=evaluator.evaluate(dataset, cache),
    )
