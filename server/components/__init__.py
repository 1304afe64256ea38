"""The composition root: builds the parts from Settings; front doors call these."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import CopyPolicy, IngestPipeline, Progress, WebFetch
from ingest.report import IngestReport
from ingest.watching import RoundCallback, follow
from ingest.web.fetcher import PoliteFetcher
from ingest.web.sources import Sources
from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer
from server.answers.span_reader import shipped_reader
from server.assistant import Answerer, Assistant, Condenser, Searcher
from server.components.store import (
    answer_sentence_vectors,
    build_embedder,
    index_source,
    ingest_sentence_vectors,
    open_store,
    store_label,
    store_layout,
)
from server.components.web import fetch_policy
from server.contract import StoreStatus
from server.feedback import FeedbackStore
from server.llm.answering import LlmAnswerer
from server.llm.chat_models import ReplyStream, build_chat_model
from server.llm.condense import ModelCondenser, RuleCondenser
from server.llm.grounding import CitationVerifier, GroundingPolicy
from server.prompts import PromptLibrary
from server.retrieval.hybrid import HybridRetriever
from server.retrieval.indexes import IndexSource
from server.settings import Settings
from server.storage.embeddings import CachedEncoder, Embedder, model_label
from server.storage.sentence_vectors import SentenceVectorStore
from server.storage.store import ChunkStore

Notify = Callable[[str], None]


def feedback_store(settings: Settings) -> FeedbackStore:
    """The answers given in Slack and the ratings people gave them, beside the store's files."""
    layout = store_layout(settings.storage, settings.embedding)
    return FeedbackStore(layout.feedback, settings.slack.feedback_keep_days)


def build_pipeline(
    settings: Settings,
    store: ChunkStore,
    embedder: Embedder,
    sentence_vectors: SentenceVectorStore | None = None,
) -> IngestPipeline:
    policy = ChunkingPolicy(
        max_tokens=embedder.max_tokens,
        target_tokens=settings.ingest.chunk_tokens,
        overlap_sentences=settings.ingest.chunk_overlap_sentences,
    )
    layout = store_layout(settings.storage, settings.embedding)
    copies = CopyPolicy(
        layout.signatures, layout.fetch_state, settings.ingest.near_duplicate_threshold
    )
    return IngestPipeline(
        store,
        embedder,
        Chunker(embedder.count_tokens, policy),
        layout.lexical_dir,
        settings.ingest.ingest_batch_size,
        sentence_vectors,
        layout.ingest_lock,
        copies,
    )


def ingest(
    settings: Settings,
    paths: list[Path],
    prune: bool = False,
    progress: Progress | None = None,
    web: Sources | None = None,
) -> IngestReport:
    """Files and folders, and the feeds and pages of `web`, into the configured store."""
    store = open_store(settings.storage, settings.embedding)
    embedder = build_embedder(settings.embedding, bulk=True)
    layout = store_layout(settings.storage, settings.embedding)
    vectors = ingest_sentence_vectors(layout, settings.ingest)
    pipeline = build_pipeline(settings, store, embedder, vectors)
    if web is None or not web.web:
        return pipeline.ingest(paths, prune, progress)
    with PoliteFetcher(fetch_policy(settings.ingest)) as fetcher:
        return pipeline.ingest(paths, prune, progress, WebFetch(web, fetcher))


def watch(
    settings: Settings,
    sources: Sources,
    interval: float,
    rounds: int | None,
    on_round: RoundCallback,
) -> int:
    """Ingests the sources every `interval` seconds; returns the rounds run."""
    return follow(
        lambda: ingest(settings, sources.paths, False, None, sources), interval, rounds, on_round
    )


@dataclass(frozen=True)
class RetrievalParts:
    """The retriever over the configured store and what it was built from."""

    retriever: HybridRetriever
    index_source: IndexSource  # where the retriever's indexes are refreshed from
    embedder: Embedder
    prompts: PromptLibrary


def build_retrieval(settings: Settings, notify: Notify | None = None) -> RetrievalParts:
    """Dense and BM25 retrieval over the configured store, the model loaded; an empty
    embedded store gets the bundled corpus first."""
    embedder = build_embedder(settings.embedding)
    source = index_source(settings.storage, settings.embedding)
    store = source.open_store()
    prompts = PromptLibrary(settings.answers.prompts_dir)
    if store.count() == 0:
        _when_empty(settings, store, embedder, prompts, notify or (lambda _: None))
    indexes = source.load(store)
    embedder.load()  # now: ready means ready to answer
    retriever = HybridRetriever(
        indexes.store,
        indexes.lexical,
        embedder,
        settings.answers.retrieval_candidates,
        settings.answers.rrf_k,
        indexes.generation,
    )
    return RetrievalParts(retriever, source, embedder, prompts)


def build_searcher(settings: Settings, notify: Notify | None = None) -> Searcher:
    """Search alone: retrieval, without the span reader or a language model."""
    retriever = build_retrieval(settings, notify).retriever
    return Searcher(retriever, settings.answers.max_question_chars)


def build_extractive(settings: Settings, prompts: PromptLibrary) -> ExtractiveAnswerer:
    """The span reader's answerer, its graph loaded now: a damaged file fails the start."""
    answers = settings.answers
    policy = AnswerPolicy(
        passages=answers.answer_passages,
        max_sentences=answers.answer_max_sentences,
        threshold=answers.answer_threshold,
    )
    reader = shipped_reader()
    return ExtractiveAnswerer(prompts, policy, reader=lambda: reader)


def _when_empty(
    settings: Settings,
    store: ChunkStore,
    embedder: Embedder,
    prompts: PromptLibrary,
    notify: Notify,
) -> None:
    """A first question on this machine's own store gets the bundled demo article; a
    shared Chroma server's collection is left as it is (others read it too): it is filled
    by `summit ingest`, and says so."""
    storage = settings.storage
    label = store_label(storage)
    if storage.chroma_url:
        notify(prompts.render("empty_server_store", store=label, collection=storage.collection))
        return
    notify(prompts.render("empty_store", store=label, corpus=storage.corpus_dir))
    layout = store_layout(storage, settings.embedding)
    vectors = ingest_sentence_vectors(layout, settings.ingest)
    build_pipeline(settings, store, embedder, vectors).ingest([storage.corpus_dir])


def build_assistant(settings: Settings, notify: Notify | None = None) -> Assistant:
    """The assistant over the configured store; an empty store gets the bundled corpus."""
    parts = build_retrieval(settings, notify)
    retriever = parts.retriever
    extractive = build_extractive(settings, parts.prompts)
    answerer, condenser = _writer(settings, parts, extractive)
    return Assistant(
        retriever,
        answerer,
        lambda: _status_of(settings, retriever.store),
        settings.answers.max_question_chars,
        settings.answers.max_history_turns,
        condenser,
        lambda: retriever.refresh(parts.index_source),
    )


def _writer(
    settings: Settings, parts: RetrievalParts, extractive: ExtractiveAnswerer
) -> tuple[Answerer, Condenser]:
    """Who writes answers and condenses follow-ups: a language model if one is configured,
    its sentences checked against their passages' sentence vectors."""
    llm = settings.llm
    model = build_chat_model(llm)
    if model is None:
        return extractive, RuleCondenser()
    replies = ReplyStream(model, llm.llm_timeout)
    grounding = GroundingPolicy(
        min_coverage=llm.grounding_min_coverage, min_similarity=llm.grounding_min_similarity
    )
    layout = store_layout(settings.storage, settings.embedding)
    vectors = answer_sentence_vectors(layout, settings.embedding)
    encoder = CachedEncoder(parts.embedder, settings.embedding.sentence_cache_size, vectors)
    verifier = CitationVerifier(encoder, grounding)
    answerer = LlmAnswerer(replies, parts.prompts, verifier, extractive)
    return answerer, ModelCondenser(replies, parts.prompts, settings.answers.max_question_chars)


def store_status(settings: Settings) -> StoreStatus:
    """Counts of the store; loads no model."""
    return _status_of(settings, open_store(settings.storage, settings.embedding))


def _status_of(settings: Settings, store: ChunkStore) -> StoreStatus:
    return StoreStatus(
        documents=store.document_count(),
        chunks=store.count(),
        store=store_label(settings.storage),
        embedding_model=model_label(settings.embedding.embedding_model),
    )
