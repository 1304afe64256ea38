"""Deterministic stand-ins that implement the real interfaces."""

import hashlib
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from server.storage.embeddings import Embedder

if TYPE_CHECKING:
    from ingest.pipeline import IngestPipeline
    from server.answers.span_reader import SpanReading
    from server.storage.sentence_vectors import SentenceVectorStore

DIMENSIONS = 32


class FakeEmbedder(Embedder):
    """Bag-of-words hashing vectors: texts sharing words are close; no model is loaded."""

    def __init__(self, max_tokens: int = 64) -> None:
        super().__init__("fake", batch_size=8)
        self._max = max_tokens
        self.embedded: list[str] = []

    @property
    def max_tokens(self) -> int:
        return self._max

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(text.split()) + 2 for text in texts]  # two special tokens, like BERT

    def encode(self, texts: list[str]) -> Any:
        self.embedded.extend(texts)
        vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,?!").encode()).digest()
                vectors[row, digest[0] % DIMENSIONS] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1, norms)


class FakeReader:
    """Points, in each passage, at every sentence (its words up to the closing stop), as
    sure as the share of the question's words it holds (words of four letters or more,
    compared by their first five: a crude stem). No model is loaded."""

    threshold = 0.5

    def read(self, question: str, passages: list[str]) -> "list[SpanReading]":
        from server.answers.span_reader import SpanReading

        asked = _stems(question)
        found = []
        for n, text in enumerate(passages):
            for match in re.finditer(r"[^.!?]+", text):
                start = match.start() + len(match.group()) - len(match.group().lstrip())
                share = len(asked & _stems(match.group())) / max(len(asked), 1)
                score = math.log((share + 0.01) / (1.01 - share))
                found.append(SpanReading(n, start, match.end(), score, 0.0))
        return sorted(found, key=lambda r: -r.score)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def fake_pipeline(
    folder: Path,
    embedder: "FakeEmbedder",
    batch_size: int = 4,
    sentence_vectors: "SentenceVectorStore | None" = None,
    copies: bool = False,
) -> "IngestPipeline":
    """The real ingest pipeline over a real Chroma store in `folder/store`, with the fake
    embedder and small chunks; with `copies`, near-duplicates are stored once, as served."""
    from ingest.chunker import Chunker, ChunkingPolicy
    from ingest.pipeline import CopyPolicy, IngestPipeline
    from server.storage.chroma import open_persistent_client
    from server.storage.store import ChunkStore

    store = ChunkStore(open_persistent_client(folder / "store"), "test", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    lexical = folder / "store" / "lexical"
    policy = None
    if copies:
        policy = CopyPolicy(folder / "store" / "signatures.sqlite3", folder / "fetch.json", 0.8)
    return IngestPipeline(
        store, embedder, chunker, lexical, batch_size, sentence_vectors, copies=policy
    )


def open_sentence_vectors(folder: Path) -> "SentenceVectorStore":
    from server.storage.sentence_vectors import SentenceVectorStore

    opened = SentenceVectorStore.open(folder / "store" / "sentences.sqlite3", 60)
    assert opened is not None
    return opened
