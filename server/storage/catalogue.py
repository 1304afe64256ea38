"""What the store holds, document by document: its title, source, outlet, date, passages and
when it was added, read from the chunks' metadata (no model, no vectors).

Listing reads the metadata of every chunk (about a second at 100k chunks): it is for people
browsing their documents, not for the answer path.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from server.base.document_meta import outlet_of, published_of
from server.base.documents import Chunk
from server.storage.store import ChunkStore, chunk_from_record

ADDED_KEY = "added"  # chunk metadata: when the ingest stored the chunk (ISO 8601, UTC)


@dataclass
class DocumentSummary:
    id: str
    title: str | None
    source: str
    outlet: str | None
    published: str | None
    added: str | None
    chunks: int = 0
    chunk_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DocumentFilter:
    """Which documents a listing shows: words of the title, an outlet, a date range."""

    title_words: str | None = None
    outlet: str | None = None
    since: datetime.date | None = None
    until: datetime.date | None = None

    def keeps(self, summary: DocumentSummary) -> bool:
        if self.title_words and not _holds(summary.title or summary.source, self.title_words):
            return False
        if self.outlet and (summary.outlet or "").casefold() != self.outlet.casefold():
            return False
        day = _day(summary.published)
        if self.since and (day is None or day < self.since):
            return False
        return not (self.until and (day is None or day > self.until))


def summaries(store: ChunkStore) -> list[DocumentSummary]:
    """Every document the store holds, newest added first (then by title)."""
    chunks = (chunk_from_record(i, "", meta) for i, _, meta in store.records(include_text=False))
    by_title = sorted(_summarised(chunks), key=lambda s: s.title or s.source)
    return sorted(by_title, key=lambda s: s.added or "", reverse=True)  # stable: titles stay


def passages(store: ChunkStore, summary: DocumentSummary) -> list[Chunk]:
    """The document's passages in reading order."""
    return sorted(store.get(summary.chunk_ids), key=lambda c: (c.page or 0, c.position))


def find(store: ChunkStore, doc_id: str) -> DocumentSummary | None:
    """One document, read by its id alone (not the whole store's metadata)."""
    return next(iter(_summarised(store.chunks_of_documents([doc_id]))), None)


def _summarised(chunks: Iterable[Chunk]) -> list[DocumentSummary]:
    """The chunks (metadata only) grouped into their documents, in the order first met."""
    found: dict[str, DocumentSummary] = {}
    for chunk in chunks:
        summary = found.get(chunk.doc_id)
        if summary is None:
            summary = found[chunk.doc_id] = _summary_of(chunk)
        summary.chunks += 1
        summary.chunk_ids.append(chunk.chunk_id)
        summary.added = _earliest(summary.added, _text(chunk.metadata.get(ADDED_KEY)))
    return list(found.values())


def filtered(found: Iterable[DocumentSummary], wanted: DocumentFilter) -> list[DocumentSummary]:
    return [s for s in found if wanted.keeps(s)]


def _summary_of(chunk: Chunk) -> DocumentSummary:
    return DocumentSummary(
        id=chunk.doc_id,
        title=chunk.title,
        source=chunk.source,
        outlet=outlet_of(chunk),
        published=published_of(chunk),
        added=None,
    )


def _holds(text: str, words: str) -> bool:
    lowered = text.casefold()
    return all(word in lowered for word in words.casefold().split())


def _day(published: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _earliest(a: str | None, b: str | None) -> str | None:
    return min((x for x in (a, b) if x), default=None)
