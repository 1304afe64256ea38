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
from server.assistant import Answerer, Assistant, Condenser
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
from server.storage.chroma import forget_embedded_clients, open_http_client, open_persistent_client
from server.storage.embeddings import (
    CachedEncoder,
    Embedder,
    SentenceEmbedder,
    model_label,
)
from server.storage.layout import ChromaServer, StoreLayout
from server.storage.onnx_embedder import OnnxEmbedder
from server.storage.onnx_model import ExportedModel
from server.storage.onnx_runtime import usable_cores
from server.storage.sentence_vectors import (
    ANSWER_WRITE_WAIT_S,
    INGEST_WRITE_WAIT_S,
    SentenceVectorStore,
)
from server.storage.store import ChunkStore

Notify = Callable[[str], None]
# Texts an encode step takes, unless configured (README, "Embeddings without torch"):
# onnxruntime embedded ingest chunks fastest one at a time (nothing padded), torch in batches.
ONNX_BATCH_SIZE = 1
TORCH_BATCH_SIZE = 64


def build_embedder(settings: Settings, bulk: bool = False) -> Embedder:
    """The ONNX backend (no torch in the process), or sentence-transformers if configured.
    `bulk` (ingest): runs side by side, one a core; else one at a time, as answering wants."""
    if settings.embedding_backend == "torch":
        return SentenceEmbedder(
            settings.embedding_model,
            settings.embedding_device,
            settings.embedding_batch_size or TORCH_BATCH_SIZE,
        )
    return OnnxEmbedder(
        settings.embedding_model,
        settings.model_cache,
        settings.embedding_batch_size or ONNX_BATCH_SIZE,
        usable_cores() if bulk else 1,
    )


def export_embedding_model(settings: Settings) -> ExportedModel:
    """The ONNX export of the configured model, made now if there is none."""
    return OnnxEmbedder(settings.embedding_model, settings.model_cache).export()


def open_store(settings: Settings) -> ChunkStore:
    """The Chroma server's collection if SUMMIT_CHROMA_URL is set, else the embedded one."""
    if settings.chroma_url:
        token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
        client = open_http_client(
            settings.chroma_url, token, settings.chroma_tenant, settings.chroma_database
        )
    else:
        client = open_persistent_client(settings.store)
    return ChunkStore(client, settings.collection, model_label(settings.embedding_model))


def store_label(settings: Settings) -> str:
    if settings.chroma_url:
        return f"{settings.chroma_url} ({settings.chroma_tenant}/{settings.chroma_database})"
    return str(settings.store)


def store_layout(settings: Settings) -> StoreLayout:
    """Where the configured store's files live on this machine (server/storage/layout.py)."""
    server = None
    if settings.chroma_url:
        server = ChromaServer(settings.chroma_url, settings.chroma_tenant, settings.chroma_database)
    return StoreLayout(
        settings.store, settings.collection, model_label(settings.embedding_model), server
    )


def feedback_store(settings: Settings) -> FeedbackStore:
    """The answers given and the ratings people gave them, beside the store's files."""
    return FeedbackStore(store_layout(settings).feedback, settings.feedback_keep_days)


def index_source(settings: Settings) -> IndexSource:
    """How the configured store's indexes are opened afresh, on start and on every refresh."""
    lexical_dir = store_layout(settings).lexical_dir
    if settings.chroma_url:  # a server's collection is read afresh on every request
        return IndexSource(lambda: open_store(settings), lexical_dir)
    return IndexSource(lambda: open_store(settings), lexical_dir, forget_embedded_clients)


def answer_sentence_vectors(settings: Settings) -> SentenceVectorStore | None:
    """The file answers look sentence vectors up in and keep theirs in, unless switched off;
    a write-back while another process writes is skipped, never waited for."""
    if not settings.sentence_vectors:
        return None
    return SentenceVectorStore.open(store_layout(settings).sentence_vectors, ANSWER_WRITE_WAIT_S)


def ingest_sentence_vectors(settings: Settings) -> SentenceVectorStore | None:
    """The file an ingest fills with every chunk's sentence vectors, when asked to (even
    with SUMMIT_SENTENCE_VECTORS=false, which only keeps answers from using it)."""
    if not settings.ingest_sentence_vectors:
        return None
    return SentenceVectorStore.open(store_layout(settings).sentence_vectors, INGEST_WRITE_WAIT_S)


def build_pipeline(
    settings: Settings,
    store: ChunkStore,
    embedder: Embedder,
    sentence_vectors: SentenceVectorStore | None = None,
) -> IngestPipeline:
    policy = ChunkingPolicy(
        max_tokens=embedder.max_tokens,
        target_tokens=settings.chunk_tokens,
        overlap_sentences=settings.chunk_overlap_sentences,
    )
    layout = store_layout(settings)
    return IngestPipeline(
        store,
        embedder,
        Chunker(embedder.count_tokens, policy),
        layout.lexical_dir,
        settings.ingest_batch_size,
        sentence_vectors,
        layout.ingest_lock,
        CopyPolicy(layout.signatures, layout.fetch_state, settings.near_duplicate_threshold),
    )


def ingest(
    settings: Settings,
    paths: list[Path],
    prune: bool = False,
    progress: Progress | None = None,
    web: Sources | None = None,
) -> IngestReport:
    """Files and folders, and the feeds and pages of `web`, into the configured store."""
    store, embedder = open_store(settings), build_embedder(settings, bulk=True)
    pipeline = build_pipeline(settings, store, embedder, ingest_sentence_vectors(settings))
    if web is None or not web.web:
        return pipeline.ingest(paths, prune, progress)
    with PoliteFetcher(fetch_policy(settings)) as fetcher:
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
class ReadSide:
    """The read side's parts over one store: what answers (and their evaluation) use."""

    retriever: HybridRetriever
    index_source: IndexSource  # where the retriever's indexes are refreshed from
    encoder: CachedEncoder
    prompts: PromptLibrary
    extractive: ExtractiveAnswerer


def build_read_side(settings: Settings, notify: Notify | None = None) -> ReadSide:
    """The retriever and extractive answerer over the configured store; an empty embedded
    store gets the bundled corpus."""
    embedder = build_embedder(settings)
    source = index_source(settings)
    store = source.open_store()
    prompts = PromptLibrary(settings.prompts_dir)
    if store.count() == 0:
        _when_empty(settings, store, embedder, prompts, notify or (lambda _: None))
    indexes = source.load(store)
    embedder.load()  # now: ready means ready to answer
    retriever = HybridRetriever(
        indexes.store,
        indexes.lexical,
        embedder,
        settings.retrieval_candidates,
        settings.rrf_k,
        indexes.generation,
    )
    policy = AnswerPolicy(
        passages=settings.answer_passages,
        max_sentences=settings.answer_max_sentences,
        threshold=settings.answer_threshold,
    )
    # Sentence vectors serve the language model's citation check (server/llm/grounding.py).
    vectors = answer_sentence_vectors(settings)
    encoder = CachedEncoder(embedder, settings.sentence_cache_size, vectors)
    reader = shipped_reader()  # now, as the embedder: a damaged file fails the start
    answerer = ExtractiveAnswerer(prompts, policy, reader=lambda: reader)
    return ReadSide(retriever, source, encoder, prompts, answerer)


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
    label = store_label(settings)
    if settings.chroma_url:
        notify(prompts.render("empty_server_store", store=label, collection=settings.collection))
        return
    notify(prompts.render("empty_store", store=label, corpus=settings.corpus_dir))
    vectors = ingest_sentence_vectors(settings)
    build_pipeline(settings, store, embedder, vectors).ingest([settings.corpus_dir])


def build_assistant(settings: Settings, notify: Notify | None = None) -> Assistant:
    """The assistant over the configured store; an empty store gets the bundled corpus."""
    read_side = build_read_side(settings, notify)
    retriever = read_side.retriever
    answerer, condenser = _writer(
        settings, read_side.encoder, read_side.prompts, read_side.extractive
    )
    return Assistant(
        retriever,
        answerer,
        lambda: _status_of(settings, retriever.store),
        settings.max_question_chars,
        settings.max_history_turns,
        condenser,
        lambda: retriever.refresh(read_side.index_source),
    )


def _writer(
    settings: Settings,
    encoder: CachedEncoder,
    prompts: PromptLibrary,
    extractive: ExtractiveAnswerer,
) -> tuple[Answerer, Condenser]:
    """Who writes answers and condenses follow-ups: a language model if one is configured."""
    model = build_chat_model(settings)
    if model is None:
        return extractive, RuleCondenser()
    replies = ReplyStream(model, settings.llm_timeout)
    grounding = GroundingPolicy(
        min_coverage=settings.grounding_min_coverage,
        min_similarity=settings.grounding_min_similarity,
    )
    answerer = LlmAnswerer(replies, prompts, CitationVerifier(encoder, grounding), extractive)
    return answerer, ModelCondenser(replies, prompts, settings.max_question_chars)


def store_status(settings: Settings) -> StoreStatus:
    """Counts of the store; loads no model."""
    return _status_of(settings, open_store(settings))


def _status_of(settings: Settings, store: ChunkStore) -> StoreStatus:
    return StoreStatus(
        documents=store.document_count(),
        chunks=store.count(),
        store=store_label(settings),
        embedding_model=model_label(settings.embedding_model),
    )
