"""Near-duplicate texts: MinHash signatures of word 5-grams (with how many 5-grams each text
has), and the file beside the store that keeps the signatures of the articles stored and the
copies found of each.

A wire story reprinted by many outlets differs only in its headline, a byline, a line of
boilerplate: its 5-grams are nearly all shared, while two reports of one event written apart
share few (the threshold was measured on the news development set: docs/evaluation.md).
On a short story a new headline, byline and closing line weigh enough to pull the Jaccard
similarity of the
whole texts below the threshold, so a text that holds nearly all of a stored one and adds no
more than such lines is a copy too (and so is one nearly wholly inside a stored one: storing
it would add nothing).
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
_LSH_MARGIN = 0.3  # LSH candidates are looked for this far below the threshold
# A copy that holds a stored text adds at most a headline, a byline and a line or two: this
# many 5-grams (each added word brings one, and a run of them four more at its edges).
MAX_ADDED_GRAMS = 40
CONTAINED = 0.9  # "nearly all" of a text: MinHash estimates the share to about ±0.05


@dataclass(frozen=True)
class Fingerprint:
    """A text's MinHash and how many distinct 5-grams it has (0: not recorded)."""

    minhash: MinHash
    grams: int


def signature(text: str) -> MinHash:
    """The MinHash of the text's lower-cased word 5-grams (one gram if shorter)."""
    return fingerprint(text).minhash


def fingerprint(text: str) -> Fingerprint:
    words = _WORD.findall(text.lower())
    grams = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}
    grams = grams or {" ".join(words)}
    minhash = MinHash(num_perm=PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch([g.encode() for g in grams])
    return Fingerprint(minhash, len(grams))


def similarity(a: MinHash, b: MinHash) -> float:
    """The estimated Jaccard similarity of the two texts' 5-grams."""
    return float(a.jaccard(b))


def copy_score(new: Fingerprint, stored: Fingerprint) -> float:
    """How much the new text is a copy of the stored one: their Jaccard similarity, or, when
    the new one holds nearly all of the stored one and adds at most MAX_ADDED_GRAMS (a
    headline, a byline, a closing line), or lies nearly wholly inside it, the share of the
    smaller text the other holds."""
    jaccard = similarity(new.minhash, stored.minhash)
    if not new.grams or not stored.grams:
        return jaccard  # a signature saved before sizes were recorded
    shared = jaccard / (1 + jaccard) * (new.grams + stored.grams)
    holds_stored = shared >= CONTAINED * stored.grams and new.grams - shared <= MAX_ADDED_GRAMS
    inside_stored = shared >= CONTAINED * new.grams and new.grams <= stored.grams
    if holds_stored or inside_stored:
        return max(jaccard, min(1.0, shared / min(new.grams, stored.grams)))
    return jaccard


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
        # near it (a copy that adds lines has a lower Jaccard similarity than its score);
        # each candidate is then checked against the threshold itself.
        lsh_threshold = max(threshold - _LSH_MARGIN, 0.05)
        self._lsh = MinHashLSH(threshold=lsh_threshold, num_perm=PERMUTATIONS)
        self._fingerprints: dict[str, Fingerprint] = {}

    def add(self, source: str, found: Fingerprint) -> None:
        if source not in self._fingerprints:
            self._lsh.insert(source, found.minhash)
        self._fingerprints[source] = found

    def originals(self, source: str, found: Fingerprint) -> list[tuple[float, str]]:
        """(copy score, source) of the articles this one copies, closest first; never
        itself (a story updated under its own URL is an update, not a copy)."""
        scored = [
            (copy_score(found, self._fingerprints[other]), str(other))
            for other in self._lsh.query(found.minhash)
            if other != source
        ]
        return sorted((s, o) for s, o in scored if s >= self._threshold)[::-1]


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
            columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
            if "grams" not in columns:  # a file written before sizes were recorded
                db.execute("ALTER TABLE articles ADD COLUMN grams INTEGER NOT NULL DEFAULT 0")
            db.execute(
                "CREATE TABLE IF NOT EXISTS copies (original TEXT, source TEXT, outlet TEXT, "
                "published TEXT, PRIMARY KEY (original, source))"
            )
            yield db

    def signatures(self) -> Iterator[tuple[str, Fingerprint]]:
        with self._db() as db:
            rows = db.execute("SELECT source, signature, grams FROM articles").fetchall()
        for source, blob, grams in rows:
            values = np.frombuffer(blob, dtype=np.uint32).copy()
            minhash = MinHash(num_perm=PERMUTATIONS, hashvalues=values, scheme=_SCHEME)
            yield source, Fingerprint(minhash, int(grams))

    def put(self, articles: dict[str, Fingerprint], copies: dict[str, list[Copy]]) -> None:
        with self._db() as db:
            db.executemany(
                "INSERT OR REPLACE INTO articles (source, signature, grams) VALUES (?, ?, ?)",
                [
                    (s, f.minhash.hashvalues.astype(np.uint32).tobytes(), f.grams)
                    for s, f in articles.items()
                ],
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
