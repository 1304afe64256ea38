"""The store and the embedding model, built from their settings groups: where documents are
kept, where this machine keeps the store's files, and the model that embeds them."""

from server.retrieval.indexes import IndexSource
from server.settings import EmbeddingSettings, IngestSettings, StoreSettings
from server.storage.chroma import forget_embedded_clients, open_http_client, open_persistent_client
from server.storage.embeddings import Embedder, SentenceEmbedder, model_label
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

# Texts an encode step takes, unless configured (docs/deployment.md): onnxruntime embedded
# ingest chunks fastest one at a time (nothing padded), torch in batches.
ONNX_BATCH_SIZE = 1
TORCH_BATCH_SIZE = 64


def build_embedder(embedding: EmbeddingSettings, bulk: bool = False) -> Embedder:
    """The ONNX backend (no torch in the process), or sentence-transformers if configured.
    `bulk` (ingest): runs side by side, one a core; else one at a time, as answering wants."""
    if embedding.embedding_backend == "torch":
        return SentenceEmbedder(
            embedding.embedding_model,
            embedding.embedding_device,
            embedding.embedding_batch_size or TORCH_BATCH_SIZE,
        )
    return OnnxEmbedder(
        embedding.embedding_model,
        embedding.model_cache,
        embedding.embedding_batch_size or ONNX_BATCH_SIZE,
        usable_cores() if bulk else 1,
    )


def export_embedding_model(embedding: EmbeddingSettings) -> ExportedModel:
    """The ONNX export of the configured model, made now if there is none."""
    return OnnxEmbedder(embedding.embedding_model, embedding.model_cache).export()


def open_store(storage: StoreSettings, embedding: EmbeddingSettings) -> ChunkStore:
    """The Chroma server's collection if SUMMIT_CHROMA_URL is set, else the embedded one."""
    if storage.chroma_url:
        token = storage.chroma_token.get_secret_value() if storage.chroma_token else None
        client = open_http_client(
            storage.chroma_url, token, storage.chroma_tenant, storage.chroma_database
        )
    else:
        client = open_persistent_client(storage.store)
    return ChunkStore(client, storage.collection, model_label(embedding.embedding_model))


def store_label(storage: StoreSettings) -> str:
    if storage.chroma_url:
        return f"{storage.chroma_url} ({storage.chroma_tenant}/{storage.chroma_database})"
    return str(storage.store)


def store_layout(storage: StoreSettings, embedding: EmbeddingSettings) -> StoreLayout:
    """Where the configured store's files live on this machine (server/storage/layout.py)."""
    server = None
    if storage.chroma_url:
        server = ChromaServer(storage.chroma_url, storage.chroma_tenant, storage.chroma_database)
    return StoreLayout(
        storage.store, storage.collection, model_label(embedding.embedding_model), server
    )


def index_source(storage: StoreSettings, embedding: EmbeddingSettings) -> IndexSource:
    """How the configured store's indexes are opened afresh, on start and on every refresh."""
    lexical_dir = store_layout(storage, embedding).lexical_dir
    reopen = lambda: open_store(storage, embedding)  # noqa: E731
    if storage.chroma_url:  # a server's collection is read afresh on every request
        return IndexSource(reopen, lexical_dir)
    return IndexSource(reopen, lexical_dir, forget_embedded_clients)


def answer_sentence_vectors(
    layout: StoreLayout, embedding: EmbeddingSettings
) -> SentenceVectorStore | None:
    """The file the citation check looks sentence vectors up in and keeps theirs in, unless
    switched off; a write-back while another process writes is skipped, never waited for."""
    if not embedding.sentence_vectors:
        return None
    return SentenceVectorStore.open(layout.sentence_vectors, ANSWER_WRITE_WAIT_S)


def ingest_sentence_vectors(
    layout: StoreLayout, ingest: IngestSettings
) -> SentenceVectorStore | None:
    """The file an ingest fills with every chunk's sentence vectors, when asked to (even
    with SUMMIT_SENTENCE_VECTORS=false, which only keeps answers from using it)."""
    if not ingest.ingest_sentence_vectors:
        return None
    return SentenceVectorStore.open(layout.sentence_vectors, INGEST_WRITE_WAIT_S)
