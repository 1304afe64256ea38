"""Sentence vectors on disk, found by the sentence's text: the language model's citation
check (server/llm/grounding.py) looks up the vectors of its passages' sentences instead of
running the model on them (most of its cost otherwise). A vector computed at answer time is
kept for the next question and process; with SUMMIT_INGEST_SENTENCE_VECTORS the ingest
computes those of every stored chunk, and records the store generation it did so for (so a
later ingest fills only what it adds).

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

from server.errors import store_write_error

_LOG = logging.getLogger(__name__)
_BATCH = 500  # keys a query: SQLite allows 999 parameters
_READ_TIMEOUT_S = 2.0  # reads wait for SQLite only while a writer checkpoints
INGEST_WRITE_WAIT_S = 60.0  # an ingest waits out a server's write-back
ANSWER_WRITE_WAIT_S = 0.0  # a write-back while another process writes is skipped


def sentence_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SentenceVectorStore:
    """Readers never wait for a writer (SQLite's WAL mode); one connection for each, so a
    request thread looking vectors up is never held behind a write waiting for its lock."""

    def __init__(self, reader: sqlite3.Connection, writer: sqlite3.Connection, path: Path):
        self._reader, self._writer, self._path = reader, writer, path
        self._read_lock = threading.Lock()  # a connection is used by one thread at a time
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, write_wait: float) -> "SentenceVectorStore | None":
        """The store at `path`, created if need be; None (answers encode every sentence)
        when it cannot be opened. A write waits `write_wait` seconds for another
        process's write, then fails."""
        connections: list[sqlite3.Connection] = []
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            for timeout in (write_wait, _READ_TIMEOUT_S):
                connections.append(
                    sqlite3.connect(
                        path, timeout=timeout, check_same_thread=False, isolation_level=None
                    )
                )
            writer, reader = connections
            writer.execute("PRAGMA journal_mode=WAL")
            writer.execute("PRAGMA synchronous=NORMAL")
            writer.execute(
                "CREATE TABLE IF NOT EXISTS vectors "
                "(key BLOB PRIMARY KEY, vector BLOB NOT NULL) WITHOUT ROWID"
            )
            writer.execute(
                "CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            for connection in connections:
                connection.close()
            _LOG.warning("sentence vectors unavailable at %s: %s", path, exc)
            return None
        return cls(reader, writer, path)

    def close(self) -> None:
        for connection in (self._reader, self._writer):
            connection.close()

    def get(self, texts: list[str]) -> dict[str, Any]:
        """The stored unit vectors (float32) of those texts it holds."""
        wanted = {sentence_key(t): t for t in texts}
        rows = self._select("vectors", "key, vector", list(wanted))
        return {
            wanted[key]: np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            for key, blob in rows
        }

    def missing(self, texts: list[str]) -> list[str]:
        """Those texts it holds no vector for, each once (the vectors are not read)."""
        wanted = {sentence_key(t): t for t in texts}
        held = {wanted[key] for (key,) in self._select("vectors", "key", list(wanted))}
        return [t for t in dict.fromkeys(texts) if t not in held]

    def _select(self, table: str, columns: str, keys: list[bytes]) -> list[tuple[Any, ...]]:
        """Rows of those keys it holds; none when the file cannot be read (a cache)."""
        rows: list[tuple[Any, ...]] = []
        try:
            with self._read_lock:
                for batch in _batches(keys):
                    marks = ",".join("?" * len(batch))
                    query = f"SELECT {columns} FROM {table} WHERE key IN ({marks})"
                    rows.extend(self._reader.execute(query, batch).fetchall())
        except sqlite3.Error as exc:
            _LOG.warning("sentence vectors not read: %s", exc)
            return []
        return rows

    def put(self, texts: list[str], vectors: Any) -> None:
        """Stores the vectors; a StoreUnavailableError saying why when it cannot."""
        rows = [
            (sentence_key(t), np.asarray(v, dtype=np.float16).tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        self._write("INSERT OR IGNORE INTO vectors (key, vector) VALUES (?, ?)", rows)

    def complete_for(self) -> str | None:
        """The store generation whose every chunk's sentences it was last known to hold."""
        try:
            with self._read_lock:
                row = self._reader.execute(
                    "SELECT value FROM state WHERE name = 'complete_for'"
                ).fetchone()
        except sqlite3.Error as exc:
            _LOG.warning("sentence vectors not read: %s", exc)
            return None
        return None if row is None else str(row[0])

    def mark_complete(self, generation: str) -> None:
        """Records that it holds the sentences of every chunk of that store generation."""
        self._write(
            "INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)",
            [("complete_for", generation)],
        )

    def _write(self, statement: str, rows: list[tuple[Any, ...]]) -> None:
        """One transaction; a StoreUnavailableError saying why when it cannot be made."""
        try:
            with self._write_lock:
                try:
                    self._writer.execute("BEGIN IMMEDIATE")  # waits for the lock here
                    self._writer.executemany(statement, rows)
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.rollback()  # a no-op where SQLite rolled back itself
                    raise
        except sqlite3.Error as exc:
            otherwise = f"Cannot store sentence vectors in {self._path}: {exc}."
            raise store_write_error(exc, otherwise) from exc

    def __len__(self) -> int:
        with self._read_lock:
            return int(self._reader.execute("SELECT count(*) FROM vectors").fetchone()[0])


def as_stored(vectors: Any) -> Any:
    """float32 vectors with the precision they are stored with (float16)."""
    return np.asarray(vectors, dtype=np.float16).astype(np.float32)


def _batches(keys: list[bytes]) -> Iterator[list[bytes]]:
    for start in range(0, len(keys), _BATCH):
        yield keys[start : start + _BATCH]
