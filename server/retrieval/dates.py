"""Which documents were published in a window of days: for questions asked as of a date
("this week" means the week before it was asked)."""

import datetime
import threading
from dataclasses import dataclass
from typing import Any

from server.base.document_meta import published_day
from server.storage.store import ChunkStore, chunk_from_record


@dataclass(frozen=True)
class Scope:
    """The documents a retrieval may use: all but `exclude`; with `as_of`, only those
    published in the `window_days` before it (or the day after: time zones), and those
    whose date is unknown."""

    exclude: frozenset[str] = frozenset()
    as_of: datetime.date | None = None
    window_days: int = 14


EVERY_DOCUMENT = Scope()


class DocumentDates:
    """Each chunk's document and each document's publication day, read from the store's
    metadata once (no text) and kept for the store it was read from."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: ChunkStore | None = None
        self._doc_of: dict[str, str] = {}
        self._day_of: dict[str, datetime.date | None] = {}

    def only(self, store: ChunkStore, scope: Scope) -> frozenset[str] | None:
        """The documents a dated scope may use (None: every one not excluded)."""
        if scope.as_of is None:
            return None
        self._read(store)
        first = _shifted(scope.as_of, -scope.window_days)
        last = _shifted(scope.as_of, 1)
        return frozenset(
            doc
            for doc, day in self._day_of.items()
            if (day is None or first <= day <= last) and doc not in scope.exclude
        )

    def lexical_mask(
        self, store: ChunkStore, chunk_ids: list[str], scope: Scope, only: frozenset[str] | None
    ) -> Any:
        """1 for each chunk (in the BM25 index's order) the scope may use, else 0; None when
        it may use every one."""
        if only is None and not scope.exclude:
            return None
        import numpy as np

        self._read(store)
        doc_of = self._doc_of
        if only is not None:
            allowed = [doc_of.get(c) in only for c in chunk_ids]
        else:
            allowed = [doc_of.get(c) not in scope.exclude for c in chunk_ids]
        return np.asarray(allowed, dtype=np.float32)

    def _read(self, store: ChunkStore) -> None:
        with self._lock:
            if self._store is store:
                return
            doc_of: dict[str, str] = {}
            day_of: dict[str, datetime.date | None] = {}
            for chunk_id, text, meta in store.records(include_text=False):
                chunk = chunk_from_record(chunk_id, text, meta)
                doc_of[chunk_id] = chunk.doc_id
                day_of.setdefault(chunk.doc_id, published_day(chunk))
            self._store, self._doc_of, self._day_of = store, doc_of, day_of


def _shifted(day: datetime.date, days: int) -> datetime.date:
    """`day` moved by `days`, held within the calendar (a question may be asked as of
    0001-01-01 or 9999-12-31)."""
    try:
        return day + datetime.timedelta(days=days)
    except OverflowError:
        return datetime.date.min if days < 0 else datetime.date.max
