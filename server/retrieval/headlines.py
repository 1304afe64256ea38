"""The corpus's latest headlines: what a new conversation can offer to ask about.

Each document's title and publication day come from the store's metadata (no text), read
once per store the assistant holds; an ingest that adds documents gives a new store.
"""

import datetime
import re
import threading
from dataclasses import dataclass

from server.base.document_meta import outlet_of, published_day
from server.storage.store import ChunkStore, chunk_from_record

# Search results and feeds often end a title with its outlet ("… | CNN Politics") or cut
# it short ("… from the ..."): neither belongs in a question.
_OUTLET_SUFFIX = re.compile(r"\s+\|\s+[^|]*$")
_TRAILING_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")


@dataclass(frozen=True)
class Headline:
    title: str
    published: datetime.date | None
    outlet: str | None


class LatestHeadlines:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: ChunkStore | None = None
        self._newest_first: list[Headline] = []

    def latest(self, store: ChunkStore, n: int) -> list[Headline]:
        """The `n` newest documents' headlines (undated ones last, in the store's order)."""
        with self._lock:
            if self._store is not store:
                self._newest_first = _headlines(store)
                self._store = store
            return self._newest_first[:n]


def _headlines(store: ChunkStore) -> list[Headline]:
    by_document: dict[str, Headline] = {}
    for chunk_id, text, meta in store.records(include_text=False):
        chunk = chunk_from_record(chunk_id, text, meta)
        title = clean_headline(chunk.title or "")
        if title and chunk.doc_id not in by_document:
            by_document[chunk.doc_id] = Headline(title, published_day(chunk), outlet_of(chunk))
    distinct: dict[str, Headline] = {}  # a title said once, as first stored
    for headline in by_document.values():
        distinct.setdefault(headline.title.casefold(), headline)
    # newest first; sorted() is stable, so the undated keep the store's order, last
    return sorted(distinct.values(), key=lambda h: h.published or datetime.date.min, reverse=True)


def clean_headline(title: str) -> str:
    """The title without an outlet's suffix or a trailing ellipsis, whitespace collapsed."""
    title = " ".join(title.split())
    title = _TRAILING_ELLIPSIS.sub("", _OUTLET_SUFFIX.sub("", title))
    return title.strip(" -:|\u2013\u2014")  # and en and em dashes
