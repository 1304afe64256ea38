"""Deterministic stand-ins that implement the real interfaces."""

import hashlib
from typing import Any

import numpy as np

from server.storage.embeddings import Embedder

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
