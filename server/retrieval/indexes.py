"""The store's indexes as one value: loaded together, refreshed by one mechanism.

A long-running front door (HTTP, Slack Socket Mode, `summit chat`) keeps answering from
the IndexSet it holds while a newer one is loaded, then swaps it in by reference: a
request reads one IndexSet, so it never mixes a new store with an old BM25 index.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from server.storage.lexical import LexicalIndex, sync_lexical_index
from server.storage.store import ChunkStore


@dataclass(frozen=True)
class IndexSet:
    """The indexes of one generation of the store."""

    store: ChunkStore
    lexical: LexicalIndex
    generation: str = ""  # the store's generation these indexes reflect


def _nothing_cached() -> None:
    return None


@dataclass(frozen=True)
class IndexSource:
    """Opens one store's indexes afresh."""

    open_store: Callable[[], ChunkStore]
    lexical_dir: Path
    # Drops what the process caches of the store: an embedded Chroma keeps its vector index
    # in memory and does not see another process's ingest until it is opened afresh.
    forget_cached: Callable[[], None] = _nothing_cached

    def load(self, store: ChunkStore | None = None) -> IndexSet:
        store = store if store is not None else self.open_store()
        # Read before the indexes are built: an ingest that finishes meanwhile is then seen
        # as a change by the next refresh, not taken for what was loaded.
        generation = store.generation()
        return IndexSet(store, sync_lexical_index(store, self.lexical_dir), generation)

    def newer_than(self, current: IndexSet) -> IndexSet | None:
        """The indexes of what was ingested since `current` was loaded, if anything was."""
        if current.store.generation() == current.generation:
            return None
        self.forget_cached()
        return self.load()
