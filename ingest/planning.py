"""What the store needs so that it holds each document once: chunks to embed and add, chunks
to relabel with a new path, chunk ids to delete afterwards.

Chunk ids come from what a document says, not where its file lies (SourceDocument.identity),
so a document's first chunk id finds it wherever it is stored. A copy under a second path adds
nothing and is reported as a duplicate of the path that keeps it. A document whose stored path
is gone, or now says something else, is taken over by the path it is found at: its chunks are
relabelled, not embedded again (a moved or renamed folder).
"""

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ingest.file_reading import Chunked
from ingest.report import Duplicate, IngestReport
from ingest.web.sources import is_url
from server.base.documents import Chunk, SourceDocument
from server.storage.store import ChunkStore

_LOOKUP_PAGE = 1000  # chunk ids a request when finding where documents are stored


@dataclass
class Plan:
    to_add: list[Chunk] = field(default_factory=list)
    to_move: dict[str, tuple[str, str]] = field(default_factory=dict)  # id: (doc_id, source)
    to_delete: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Holder:
    """The document and path the store keeps a document's chunks under now."""

    doc_id: str
    source: str


class Planner:
    def __init__(self, store: ChunkStore, reads: dict[str, Chunked], report: IngestReport):
        self._store = store
        self._reads = reads  # by source, in the order files are planned
        self._report = report
        self._plan = Plan()
        self._claimants: dict[str, set[str]] = {}  # first chunk id: the paths read holding it
        for source, documents in reads.items():
            for _, chunks in documents:
                if chunks:
                    self._claimants.setdefault(chunks[0].chunk_id, set()).add(source)
        self._owner: dict[str, str] = {}  # first chunk id: the path that keeps the document
        self._stored: dict[str, dict[str, set[str]]] = {}  # source: chunk ids by document
        self._gone: list[set[str]] = []  # the chunk ids of records no longer in their file

    def plan(self) -> Plan:
        for source, documents in self._reads.items():
            self._plan_file(source, documents)
        for gone in self._gone:
            self._plan.to_delete |= gone
            # Counted once all files are planned: a record that went to another file was
            # found there, and is reported as moved, not removed too.
            if not gone & self._plan.to_move.keys():
                self._report.removed += 1
        return self._plan

    def _plan_file(self, source: str, documents: Chunked) -> None:
        stored = dict(self._stored_at(source))
        changed: list[tuple[SourceDocument, list[Chunk], set[str] | None]] = []
        for document, chunks in documents:
            mine = stored.pop(document.doc_id, None)
            if chunks and mine == {c.chunk_id for c in chunks}:
                self._owner.setdefault(chunks[0].chunk_id, source)
                self._report.unchanged += 1
            else:
                changed.append((document, chunks, mine))
        holders = self._holders([chunks[0].chunk_id for _, chunks, _ in changed if chunks])
        copies: Counter[str] = Counter()
        for document, chunks, mine in changed:
            holder = holders.get(chunks[0].chunk_id) if chunks else None
            original = self._plan_document(source, document, chunks, mine, holder)
            if original is not None:
                copies[original] += 1
        self._gone.extend(stored.values())
        self._report.duplicates += [Duplicate(source, of, n) for of, n in copies.items()]

    def _plan_document(
        self,
        source: str,
        document: SourceDocument,
        chunks: list[Chunk],
        mine: set[str] | None,
        holder: _Holder | None,
    ) -> str | None:
        """Plans one new or changed document; returns the path it is a copy of, if it is."""
        ids = {c.chunk_id for c in chunks}
        self._plan.to_delete |= (mine or set()) - ids  # what this path held of it before
        owner = self._decide_owner(chunks[0].chunk_id, source, holder) if chunks else source
        if owner != source:
            return owner
        theirs: set[str] = set()
        if holder is not None and holder.source != source:
            theirs = self._stored_at(holder.source).get(holder.doc_id, set())
            self._plan.to_move.update({i: (document.doc_id, source) for i in ids & theirs})
            self._plan.to_delete |= theirs - ids
            self._report.moved += 1
        elif mine is None:
            self._report.added += 1
        else:
            self._report.updated += 1
        self._report.documents.append(document.doc_id)
        have = (mine or set()) | theirs
        self._plan.to_add.extend(c for c in chunks if c.chunk_id not in have)
        return None

    def _decide_owner(self, key: str, source: str, holder: _Holder | None) -> str:
        """The path that keeps the document: the first to claim it in this ingest, unless the
        store holds it under a path that keeps it too."""
        if key not in self._owner:
            self._owner[key] = source
            if holder is not None and holder.source != source and self._keeps(holder, key):
                self._owner[key] = holder.source
        return self._owner[key]

    def _keeps(self, holder: _Holder, key: str) -> bool:
        """Whether the path the store holds a document under still has it: it was read now
        and still says it, or was not read (outside the paths given, or skipped) and exists."""
        if holder.source in self._claimants.get(key, set()):
            return True
        return holder.source not in self._reads and (
            is_url(holder.source) or Path(holder.source).exists()
        )

    def _holders(self, first_ids: list[str]) -> dict[str, _Holder]:
        found: dict[str, _Holder] = {}
        for start in range(0, len(first_ids), _LOOKUP_PAGE):
            for chunk in self._store.get(first_ids[start : start + _LOOKUP_PAGE]):
                found[chunk.chunk_id] = _Holder(chunk.doc_id, chunk.source)
        return found

    def _stored_at(self, source: str) -> dict[str, set[str]]:
        if source not in self._stored:
            self._stored[source] = self._store.chunk_ids_by_document(source)
        return self._stored[source]
