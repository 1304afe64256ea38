"""The composition root: builds the parts from Settings; front doors call these."""

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.lock import ingest_lock
from ingest.pipeline import IngestPipeline, Progress, sync_lexical_index
from ingest.report import IngestReport
from server.answering import AnswerPolicy, ExtractiveAnswerer, served_threshold
from server.assistant import Answerer, Assistant, Condenser
from server.chat_models import ReplyStream, build_chat_model
from server.condense import ModelCondenser, RuleCondenser
from server.evaluation import NEWS_CORPUS, Asker, QAReport, evaluate_qa, load_question_set
from server.grounding import CitationVerifier, GroundingPolicy
from server.llm_answering import LlmAnswerer
from server.models import StoreStatus
from server.prompts import PromptLibrary
from server.retrieval import HybridRetriever, IndexSet
from server.retrieval_eval import (
    WHOLE_DOCUMENTS,
    RetrievalEvaluator,
    RetrievalReport,
    load_beir,
    scores_of,
    whole_document_runs,
)
from server.sentence_entities import StoredEntities
from server.settings import Settings
from server.storage.embeddings import (
    CachedEncoder,
    Embedder,
    SentenceEmbedder,
    model_label,
)
from server.storage.onnx_embedder import OnnxEmbedder
from server.storage.onnx_model import ExportedModel
from server.storage.sentence_vectors import (
    ANSWER_WRITE_WAIT_S,
    INGEST_WRITE_WAIT_S,
    SentenceVectorStore,
)
from server.storage.store import (
    ChunkStore,
    forget_embedded_clients,
    open_http_client,
    open_persistent_client,
)

Notify = Callable[[str], None]
# Texts an encode step takes, unless configured (README, "Embeddings without torch"):
# onnxruntime embedded ingest chunks fastest one at a time (nothing padded), torch in batches.
ONNX_BATCH_SIZE = 1
TORCH_BATCH_SIZE = 64


def build_embedder(settings: Settings) -> Embedder:
    """The ONNX backend (no torch in the process), or sentence-transformers if configured."""
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


def lexical_dir(settings: Settings) -> Path:
    """Where the BM25 index is kept. It is derived from the store's records and checked
    against their version: with a Chroma server every process keeps its own copy in
    SUMMIT_STORE, rebuilt when the server's collection changed."""
    if settings.chroma_url:
        server = re.sub(r"[^A-Za-z0-9._-]+", "_", settings.chroma_url)
        scope = f"{server}_{settings.chroma_tenant}_{settings.chroma_database}"
        return settings.store / "lexical-cache" / scope / settings.collection
    return settings.store / "lexical" / settings.collection


def sentence_vectors_path(settings: Settings) -> Path:
    """The sentence vectors of this store and model (server/storage/sentence_vectors.py)."""
    model = hashlib.sha256(model_label(settings.embedding_model).encode()).hexdigest()[:12]
    return lexical_dir(settings).parent / f"{settings.collection}.sentences-{model}.sqlite3"


def answer_sentence_vectors(settings: Settings) -> SentenceVectorStore | None:
    """The file answers look sentence vectors up in and keep theirs in, unless switched off;
    a write-back while another process writes is skipped, never waited for."""
    if not settings.sentence_vectors:
        return None
    return SentenceVectorStore.open(sentence_vectors_path(settings), ANSWER_WRITE_WAIT_S)


def ingest_sentence_vectors(settings: Settings) -> SentenceVectorStore | None:
    """The file an ingest fills with every chunk's sentence vectors, when asked to (even
    with SUMMIT_SENTENCE_VECTORS=false, which only keeps answers from using it)."""
    if not settings.ingest_sentence_vectors:
        return None
    return SentenceVectorStore.open(sentence_vectors_path(settings), INGEST_WRITE_WAIT_S)


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
    return IngestPipeline(
        store,
        embedder,
        Chunker(embedder.count_tokens, policy),
        lexical_dir(settings),
        settings.ingest_batch_size,
        sentence_vectors,
    )


def ingest(
    settings: Settings, paths: list[Path], prune: bool = False, progress: Progress | None = None
) -> IngestReport:
    embedder = build_embedder(settings)
    store = open_store(settings)
    vectors = ingest_sentence_vectors(settings)
    with ingest_lock(lock_path(settings)):
        return build_pipeline(settings, store, embedder, vectors).ingest(paths, prune, progress)


def lock_path(settings: Settings) -> Path:
    """The file that lets one ingest at a time write to the store."""
    return lexical_dir(settings).parent / f"{settings.collection}.ingest.lock"


@dataclass(frozen=True)
class Reader:
    """The read side's parts over one store: what answers (and their evaluation) use."""

    retriever: HybridRetriever
    encoder: CachedEncoder
    prompts: PromptLibrary
    extractive: ExtractiveAnswerer


def build_reader(settings: Settings, notify: Notify | None = None) -> Reader:
    """The retriever and extractive answerer over the configured store; an empty embedded
    store gets the bundled corpus."""
    embedder = build_embedder(settings)
    store = open_store(settings)
    prompts = PromptLibrary(settings.prompts_dir)
    if store.count() == 0:
        _when_empty(settings, store, embedder, prompts, notify or (lambda _: None))
    # Read before the indexes are built: an ingest that finishes meanwhile is then seen
    # as a change by the first refresh, not taken for what was loaded.
    generation = store.generation()
    lexical = sync_lexical_index(store, lexical_dir(settings))
    embedder.load()  # now: ready means ready to answer
    retriever = HybridRetriever(
        store, lexical, embedder, settings.retrieval_candidates, settings.rrf_k, generation
    )
    policy = AnswerPolicy(
        passages=settings.answer_passages,
        max_sentences=settings.answer_max_sentences,
        threshold=settings.answer_threshold,
    )
    stored = answer_sentence_vectors(settings)
    encoder = CachedEncoder(embedder, settings.sentence_cache_size, stored)
    tagger = StoredEntities(stored).if_installed
    answerer = ExtractiveAnswerer(encoder, prompts, policy, tagger=tagger)
    return Reader(retriever, encoder, prompts, answerer)


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
    with ingest_lock(lock_path(settings)):
        vectors = ingest_sentence_vectors(settings)
        build_pipeline(settings, store, embedder, vectors).ingest([settings.corpus_dir])


def build_assistant(settings: Settings, notify: Notify | None = None) -> Assistant:
    """The assistant over the configured store; an empty store gets the bundled corpus."""
    reader = build_reader(settings, notify)
    retriever = reader.retriever
    answerer, condenser = _writer(settings, reader.encoder, reader.prompts, reader.extractive)
    return Assistant(
        retriever,
        answerer,
        lambda: _status_of(settings, retriever.store),
        settings.max_question_chars,
        settings.max_history_turns,
        condenser,
        lambda: refresh_retriever(settings, retriever),
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


def refresh_retriever(settings: Settings, retriever: HybridRetriever) -> bool:
    """Picks up what another process ingested since the retriever last looked: the store
    opened afresh (an embedded store's vector index is cached in memory) and the BM25
    index rebuilt. Requests keep using the old set until the new one is swapped in whole."""
    generation = retriever.indexes.store.generation()
    if generation == retriever.indexes.generation:
        return False
    if not settings.chroma_url:
        forget_embedded_clients()
    store = open_store(settings)
    lexical = sync_lexical_index(store, lexical_dir(settings))
    retriever.indexes = IndexSet(store, lexical, generation)
    return True


def evaluate_answers(
    settings: Settings, question_set: Path, notify: Notify | None = None, dated: bool = True
) -> QAReport:
    """Strict answer quality over a question set (server/evaluation.py). A news QA folder's
    corpus is first ingested into the store given (nothing is re-embedded when unchanged)."""
    items = load_question_set(question_set)
    if question_set.is_dir():
        ingest(settings, [question_set / NEWS_CORPUS], prune=True)
    served = served_threshold(settings.answer_threshold)
    # Every answer given, with its confidence: the served answer is the same one when the
    # confidence reaches the served threshold, a refusal otherwise.
    assistant = build_assistant(settings.model_copy(update={"answer_threshold": 0.0}), notify)
    asker = Asker(ask=lambda q, scope: assistant.ask(q, scope=scope), threshold=served)
    return evaluate_qa(asker, items, dated=dated)


def eval_store_of(settings: Settings, dataset: Path) -> Path:
    """Where a dataset's own store lives unless given: beside the assistant's store."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.resolve().name) or "dataset"
    return settings.store.parent / "eval" / name


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
    embedder = build_embedder(settings)
    store = open_store(settings)
    started = time.perf_counter()
    with ingest_lock(lock_path(settings)):
        pipeline = build_pipeline(settings, store, embedder)
        ingest = pipeline.ingest([dataset.corpus], True, progress)
    ingest_seconds = time.perf_counter() - started
    lexical = sync_lexical_index(store, lexical_dir(settings))
    evaluator = RetrievalEvaluator(
        store, lexical, embedder, settings.rrf_k, depth, settings.retrieval_candidates
    )
    methods = evaluator.evaluate(dataset)
    if whole_documents:
        key = dataset.corpus.read_bytes() + model_label(settings.embedding_model).encode()
        cache = settings.store / "whole-documents" / f"{hashlib.sha256(key).hexdigest()[:16]}.npy"
        runs, seconds = whole_document_runs(dataset, embedder, cache)
        methods[WHOLE_DOCUMENTS] = scores_of(runs, dataset.qrels, seconds)
    return RetrievalReport(
        dataset=str(dataset_dir),
        queries=len(dataset.queries),
        documents=store.document_count(),
        chunks=ingest.chunks,
        store=str(settings.store),
        store_reused=not (ingest.added or ingest.updated or ingest.removed),
        ingest_seconds=round(ingest_seconds, 1),
        methods=methods,
    )
