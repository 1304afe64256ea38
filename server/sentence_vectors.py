"""Sentence vectors on disk, found by the sentence's text: the ingest stores those of every
chunk it adds, so an answer looks up the vectors of its passages' sentences instead of
running the model on them (most of an answer's cost otherwise), and a vector computed at
answer time is kept for the next process too.

It is a cache, never the truth: a sentence it lacks is encoded; a write it cannot make (a
full or read-only disk, another writer holding the lock too long) stops an ingest with a
clear error, like any other write of the ingest, and is skipped when answering. Vectors are
stored as float16 (cosine error ~1e-3) in SQLite, which lets servers read while an ingest
writes. One file per store and embedding model, beside the BM25 index.
"""

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import StoreUnavailableError, storage_problem, unwritable_store

_LOG = logging.getLogger(__name__)
_BATCH = 500  # keys a query: SQLite allows 999 parameters
_BUSY_TIMEOUT_S = 2.0  # a cache write waits this long for another writer, then gives up


def sentence_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SentenceVectorStore:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._connection = connection
        self._path = path
        self._lock = threading.Lock()  # one connection, shared by request threads

    @classmethod
    def open(cls, path: Path) -> "SentenceVectorStore | None":
        """The store at `path`, created if need be; None (answers encode every sentence)
        when it cannot be opened."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(
                path, timeout=_BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS vectors "
                "(key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
            )
        except (OSError, sqlite3.Error) as exc:
            _LOG.warning("sentence vectors unavailable at %s: %s", path, exc)
            return None
        return cls(connection, path)

    def get(self, texts: list[str]) -> dict[str, Any]:
        """The stored unit vectors (float32) of those texts it holds."""
        wanted = {sentence_key(t): t for t in texts}
        found: dict[str, Any] = {}
        try:
            with self._lock:
                for keys in _batches(list(wanted)):
                    marks = ",".join("?" * len(keys))
                    rows = self._connection.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})", keys
                    ).fetchall()
                    for key, blob in rows:
                        found[wanted[key]] = np.frombuffer(blob, dtype=np.float16)
        except sqlite3.Error as exc:
            _LOG.warning("sentence vectors not read: %s", exc)
            return {}
        return {t: v.astype(np.float32) for t, v in found.items()}

    def missing(self, texts: list[str]) -> list[str]:
        """Those texts it holds no vector for, each once."""
        held = self.get(texts)
        return [t for t in dict.fromkeys(texts) if t not in held]

    def put(self, texts: list[str], vectors: Any) -> None:
        """Stores the vectors; a StoreUnavailableError saying why when it cannot."""
        rows = [
            (sentence_key(t), np.asarray(v, dtype=np.float16).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        try:
            with self._lock:
                try:
                    self._connection.execute("BEGIN")
                    self._connection.executemany(
                        "INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows
                    )
                    self._connection.execute("COMMIT")
                except BaseException:
                    self._connection.rollback()  # a no-op where SQLite rolled back itself
                    raise
        except sqlite3.Error as exc:
            problem = storage_problem(exc)
            if problem:
                raise unwritable_store(problem) from exc
            raise StoreUnavailableError(
                f"Cannot store sentence vectors in {self._path}: {exc}."
            ) from exc

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection.execute("SELECT count(*) FROM vectors").fetchone()[0])


def as_stored(vectors: Any) -> Any:
    """float32 vectors with the precision they are stored with (float16)."""
    return np.asarray(vectors, dtype=np.float16).astype(np.float32)


def _batches(keys: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(keys), _BATCH):
        yield keys[start : start + _BATCH]
