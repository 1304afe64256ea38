"""Where one store's files live on this machine.

The Chroma collection holds the chunks and their vectors; beside it, under SUMMIT_STORE,
are the files derived from it: the BM25 index, the sentence vectors answers read, the
lock that lets one ingest at a time write, what ingests of feeds keep (near-duplicate
signatures, fetch validators), and the ratings people gave answers. With a Chroma server
each process keeps its own copy of the derived files, named after the server, and rebuilds
them when the server's collection changed (the ratings are kept, not derived).
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

_UNSAFE_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class ChromaServer:
    url: str
    tenant: str
    database: str


@dataclass(frozen=True)
class StoreLayout:
    root: Path  # SUMMIT_STORE: the embedded store, and every store's derived files
    collection: str
    model: str  # the embedding model's label: sentence vectors belong to one model
    server: ChromaServer | None = None  # None: the embedded store under root

    @property
    def lexical_dir(self) -> Path:
        """The BM25 index, checked against the store's version when it is loaded."""
        if self.server is None:
            return self.root / "lexical" / self.collection
        url = _UNSAFE_IN_NAMES.sub("_", self.server.url)
        scope = f"{url}_{self.server.tenant}_{self.server.database}"
        return self.root / "lexical-cache" / scope / self.collection

    @property
    def sentence_vectors(self) -> Path:
        """The sentence vectors of this store and model (server/storage/sentence_vectors.py)."""
        model = hashlib.sha256(self.model.encode()).hexdigest()[:12]
        return self.lexical_dir.parent / f"{self.collection}.sentences-{model}.sqlite3"

    @property
    def ingest_lock(self) -> Path:
        """The file that lets one ingest at a time write to the store."""
        return self.lexical_dir.parent / f"{self.collection}.ingest.lock"

    @property
    def signatures(self) -> Path:
        """The articles' near-duplicate signatures and their copies (ingest/near_duplicates.py)."""
        return self.lexical_dir.parent / f"{self.collection}.copies.sqlite3"

    @property
    def feedback(self) -> Path:
        """The answers given and the ratings people gave them (server/feedback.py)."""
        return self.lexical_dir.parent / f"{self.collection}.feedback.sqlite3"

    @property
    def uploads(self) -> Path:
        """Files uploaded through the doors, each in a folder of its own (ingest/uploads.py)."""
        return self.lexical_dir.parent / f"{self.collection}.uploads"

    @property
    def fetch_state(self) -> Path:
        """What the last fetches of feeds and pages learnt (ingest/web/state.py)."""
        return self.lexical_dir.parent / f"{self.collection}.fetch-state.json"

    def whole_document_vectors(self, corpus: bytes) -> Path:
        """A retrieval benchmark's whole-document vectors, made once per corpus and model."""
        key = hashlib.sha256(corpus + self.model.encode()).hexdigest()[:16]
        return self.root / "whole-documents" / f"{key}.npy"


def dataset_store(store_root: Path, dataset: Path) -> Path:
    """Where an evaluation dataset's own store lives unless given: beside the assistant's."""
    name = _UNSAFE_IN_NAMES.sub("-", dataset.resolve().name) or "dataset"
    return store_root.parent / "eval" / name
