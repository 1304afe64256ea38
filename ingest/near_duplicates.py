"""Near-duplicate texts: MinHash signatures of word 5-grams, and the file beside the store
that keeps the signatures of the articles stored and the copies found of each.

A wire story reprinted by many outlets differs only in its headline, a byline, a line of
boilerplate: its 5-grams are nearly all shared, while two reports of one event written apart
share few (the threshold was measured on the news development set: README).
"""

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasketch import MinHash, MinHashLSH

PERMUTATIONS = 128
SHINGLE_WORDS = 5
_SCHEME = "affine32"  # datasketch's hashing scheme: signatures saved are read back with it
_WORD = re.compile(r"\w+")
_LSH_MARGIN = 0.2


def signature(text: str) -> MinHash:
    """The MinHash of the text's lower-cased word 5-grams (one gram if shorter)."""
    words = _WORD.findall(text.lower())
    grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    minhash = MinHash(num_perm=PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch([g.encode() for g in grams or {" ".join(words)}])
    return minhash


def similarity(a: MinHash, b: MinHash) -> float:
    """The estimated Jaccard similarity of the two texts' 5-grams."""
    return float(a.jaccard(b))


@dataclass(frozen=True)
class Copy:
    """Where else an article was published: its source, outlet and date."""

    source: str
    outlet: str | None
    published: str | None


class CopyFinder:
    """The stored and newly kept articles a new one may be a copy of, by signature."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        # LSH finds candidates fast, tuned below the threshold so that it misses few pairs
        # near it; each candidate is then checked against the threshold itself.
        lsh_threshold = max(threshold - _LSH_MARGIN, 0.05)
        self._lsh = MinHashLSH(threshold=lsh_threshold, num_perm=PERMUTATIONS)
        self._signatures: dict[str, MinHash] = {}

    def add(self, source: str, minhash: MinHash) -> None:
        if source not in self._signatures:
            self._lsh.insert(source, minhash)
        self._signatures[source] = minhash

    def originals(self, source: str, minhash: MinHash) -> list[tuple[float, str]]:
        """(similarity, source) of the articles this one copies, closest first; never
        itself (a story updated under its own URL is an update, not a copy)."""
        found = [
            (similarity(minhash, self._signatures[other]), str(other))
            for other in self._lsh.query(minhash)
            if other != source
        ]
        return sorted((s, o) for s, o in found if s >= self._threshold)[::-1]


class SignatureFile:
    """SQLite beside the store: the signature of each article stored, by source, and the
    copies of each that were not stored."""

    def __init__(self, path: Path) -> None:
        self._path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self._path, timeout=30)) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS articles (source TEXT PRIMARY KEY, signature BLOB)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS copies (original TEXT, source TEXT, outlet TEXT, "
                "published TEXT, PRIMARY KEY (original, source))"
            )
            yield db

    def signatures(self) -> Iterator[tuple[str, MinHash]]:
        with self._db() as db:
            rows = db.execute("SELECT source, signature FROM articles").fetchall()
        for source, blob in rows:
            values = np.frombuffer(blob, dtype=np.uint32).copy()
            yield source, MinHash(num_perm=PERMUTATIONS, hashvalues=values, scheme=_SCHEME)

    def put(self, articles: dict[str, MinHash], copies: dict[str, list[Copy]]) -> None:
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO articles VALUES (?, ?)",
                [(s, m.hashvalues.astype(np.uint32).tobytes()) for s, m in articles.items()],
            )
            db.executemany(
                "INSERT OR REPLACE INTO copies VALUES (?, ?, ?, ?)",
                [(o, c.source, c.outlet, c.published) for o, cs in copies.items() for c in cs],
            )
            # A text stored now is nobody's copy any more (its original changed or went).
            db.executemany("DELETE FROM copies WHERE source = ?", [(s,) for s in articles])

    def forget(self, sources: list[str]) -> None:
        """Articles no longer stored: neither originals to match nor holders of copies."""
        with self._db() as db:
            db.executemany("DELETE FROM articles WHERE source = ?", [(s,) for s in sources])
            db.executemany("DELETE FROM copies WHERE original = ?", [(s,) for s in sources])

    def copies_of(self, originals: list[str]) -> dict[str, list[Copy]]:
        found: dict[str, list[Copy]] = {}
        with self._db() as db:
            for original in originals:
                rows = db.execute(
                    "SELECT source, outlet, published FROM copies WHERE original = ? "
                    "ORDER BY published, source",
                    (original,),
                ).fetchall()
                if rows:
                    found[original] = [Copy(*row) for row in rows]
        return found

    def is_copy(self, source: str) -> bool:
        with self._db() as db:
            row = db.execute("SELECT 1 FROM copies WHERE source = ? LIMIT 1", (source,))
            return row.fetchone() is not None
