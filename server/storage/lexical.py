"""The BM25 index (bm25s) over the same passages as the vector store.

It is saved beside the store with the store's version (a digest of its chunk ids), so a
reader can tell whether it is in step with the vectors and rebuild it when it is not.
"""

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.base.documents import indexed_text
from server.errors import StoreUnavailableError, storage_problem
from server.storage.recent import RecentlyUsed

if TYPE_CHECKING:
    from server.storage.store import ChunkStore

_MANIFEST = "manifest.json"
_LINK_SUFFIX = ".link"
# Seconds after which a retired index or the staging folder of a killed save is removed:
# saving or loading the index of 100k chunks takes a few seconds.
LEFTOVER_AGE_S = 600


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def analyze(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed terms: the one tokenizer of lexical matching."""
    import bm25s

    return bm25s.tokenize(  # type: ignore[no-any-return]
        texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


class _TermSets:
    """The analysed terms of recently seen texts: an answer weighs the terms of each passage
    and sentence it reads, and the same passages come back question after question."""

    def __init__(self, capacity: int) -> None:
        self._recent: RecentlyUsed[frozenset[str]] = RecentlyUsed(capacity)

    def of(self, texts: list[str]) -> list[frozenset[str]]:
        return self._recent.get_many(texts, _analysed_sets)


def _analysed_sets(texts: list[str]) -> dict[str, frozenset[str]]:
    # One call: analyze() costs ~0.2 ms a call whatever its length.
    return dict(zip(texts, map(frozenset, analyze(texts)), strict=True))


_TERM_SETS = _TermSets(capacity=4096)


def term_sets(texts: list[str]) -> list[frozenset[str]]:
    """The terms analyze() gives each text, as sets; recent texts are not analysed again."""
    return _TERM_SETS.of(texts)


def analyze_words(text: str) -> list[str]:
    """Lower-cased, stop-word-free words, not stemmed."""
    import bm25s

    return bm25s.tokenize(  # type: ignore[no-any-return]
        [text], stopwords="en", return_ids=False, show_progress=False
    )[0]


def stem(word: str) -> str:
    """The stem analyze() gives this lower-cased word."""
    return str(_stemmer().stemWord(word))


class LexicalIndex:
    def __init__(
        self, retriever: Any, chunk_ids: list[str], doc_freq: dict[str, int], version: str
    ) -> None:
        self._retriever = retriever
        self.chunk_ids = chunk_ids
        self._doc_freq = doc_freq
        self.version = version

    @classmethod
    def build(cls, chunk_ids: list[str], texts: list[str], version: str) -> "LexicalIndex":
        import bm25s

        tokens = analyze(texts)
        doc_freq = Counter(term for terms in tokens for term in set(terms))
        retriever = bm25s.BM25()
        if chunk_ids:
            retriever.index(tokens, show_progress=False)
        return cls(retriever, chunk_ids, dict(doc_freq), version)

    def search(self, query: str, k: int, mask: Any = None) -> list[tuple[str, float]]:
        """Chunk ids and BM25 scores, best first; empty when no query term is indexed.
        `mask` (one number a chunk, in chunk_ids order) zeroes the chunks it marks 0."""
        terms = [t for t in analyze([query])[0] if t in self._doc_freq]
        k = min(k, len(self.chunk_ids))
        if not terms or k <= 0:
            return []
        results, scores = self._retriever.retrieve(
            [terms], k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [
            (self.chunk_ids[int(i)], float(s))
            for i, s in zip(results[0], scores[0], strict=True)
            if s > 0
        ]

    def save(self, folder: Path) -> None:
        """Written to a folder of its own; then `folder`, a symbolic link, is switched to it
        in one step. A reader sees the old index or the new one, never half of one, and
        two processes saving at once (an ingest and a refreshing server) cannot fail. The
        old one is removed by a later save, once no reader can still be loading it."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(folder), dir=folder.parent))
        link = staging.with_name(staging.name + _LINK_SUFFIX)
        previous = _link_target(folder)
        try:
            self._write(staging)
            os.symlink(staging.name, link)  # relative: the store folder can be moved
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)  # the layout of earlier versions
            os.replace(link, folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # on a full disk, give the space back
            link.unlink(missing_ok=True)
            raise
        if previous is not None and previous.exists():
            # Retired now, removed LEFTOVER_AGE_S later: a reader may be loading it.
            os.utime(previous)
        _remove_leftovers(folder)

    def _write(self, folder: Path) -> None:
        if self.chunk_ids:
            self._retriever.save(str(folder / "bm25"))
        manifest = {"version": self.version, "chunk_ids": self.chunk_ids, "df": self._doc_freq}
        (folder / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex | None":
        """The saved index, or None when there is none or it cannot be read."""
        for _ in range(2):  # a save may remove the index being read: read the new one
            index = cls._load_from(folder.resolve())
            if index is not None:
                return index
        return None

    @classmethod
    def _load_from(cls, folder: Path) -> "LexicalIndex | None":
        import bm25s

        try:
            manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
            chunk_ids = list(manifest["chunk_ids"])
            doc_freq, version = dict(manifest["df"]), str(manifest["version"])
            retriever = _load_retriever(folder / "bm25") if chunk_ids else bm25s.BM25()
        except (OSError, ValueError, KeyError, TypeError):  # missing or damaged: rebuild
            return None
        return cls(retriever, chunk_ids, doc_freq, version)


def _load_retriever(folder: Path) -> Any:
    """The saved scores memory-mapped: a search reads the postings of its few terms only,
    so the process holds those pages, not the whole index (62 MB at 100k chunks). Mapped
    files stay readable after a later save retires and removes them."""
    import bm25s

    return bm25s.BM25.load(str(folder), mmap=True, show_progress=False)


def _staging_prefix(folder: Path) -> str:
    # "~" cannot occur in a collection name: collection "docs" never matches "docs-v2"'s.
    return f".{folder.name}~"


def _link_target(folder: Path) -> Path | None:
    if not folder.is_symlink():
        return None
    return folder.parent / os.readlink(folder)


def _remove_leftovers(folder: Path) -> None:
    """Retired indexes, and staging folders and links of saves that were killed, once they
    are old enough that no save can still be writing them and no reader still loading them."""
    live = folder.resolve()
    cutoff = time.time() - LEFTOVER_AGE_S
    for entry in folder.parent.glob(f"{_staging_prefix(folder)}*"):
        try:
            if entry.resolve() == live or entry.lstat().st_mtime > cutoff:
                continue
            if entry.is_symlink():
                entry.unlink()
            else:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:  # removed by another process meanwhile
            continue


def build_from_records(records: Iterable[tuple[str, str]], version: str) -> LexicalIndex:
    """An index over (chunk id, indexed text) pairs."""
    pairs = list(records)
    return LexicalIndex.build([p[0] for p in pairs], [p[1] for p in pairs], version)


def sync_lexical_index(store: "ChunkStore", folder: Path) -> LexicalIndex:
    """The BM25 index saved in `folder`, rebuilt from the store's records when it is not
    the index of the store's version now."""
    version = store.version()
    index = LexicalIndex.load(folder)
    if index is not None and index.version == version:
        return index
    index = build_from_records(_indexed_records(store), version)
    try:
        index.save(folder)
    except OSError as exc:
        problem = storage_problem(exc) or exc.strerror or type(exc).__name__
        raise StoreUnavailableError(f"Cannot save the BM25 index in {folder}: {problem}.") from exc
    return LexicalIndex.load(folder) or index  # mapped from disk, as a start would load it


def _indexed_records(store: "ChunkStore") -> Iterator[tuple[str, str]]:
    for chunk_id, text, meta in store.records():
        yield chunk_id, indexed_text(meta.get("title"), text)
