"""Syndicated copies stored once: a new article that nearly repeats one the store holds (or
one kept earlier in the same ingest) is not stored; where else it appeared, with its outlet
and date, is recorded and stamped on the original's chunks as `also_in`, so citations say
"also in: …".

Exact copies (the same text and metadata) are the planner's (ingest/planning.py): a copied
file, a moved folder. JSONL records are kept as given: each is an id its dataset refers to.
A text updated under its own source is an update, never a copy of its earlier version.
"""

import json

from ingest.file_reading import Chunked
from ingest.near_duplicates import Copy, CopyFinder, Fingerprint, SignatureFile, fingerprint
from ingest.report import NearDuplicate
from server.base.document_meta import ALSO_IN_KEY, outlet_of, published_of
from server.base.documents import Chunk, MetadataValue, SourceDocument
from server.storage.store import ChunkStore


class Syndication:
    def __init__(self, store: ChunkStore, signatures: SignatureFile, threshold: float) -> None:
        self._store = store
        self._signatures = signatures
        self._threshold = threshold
        self._kept: dict[str, Fingerprint] = {}  # articles new to the store in this ingest
        self._copies: dict[str, list[Copy]] = {}  # by original: copies found in this ingest
        self.found: list[NearDuplicate] = []

    def sift(self, reads: dict[str, Chunked]) -> dict[str, Chunked]:
        """The reads without the copies; a source whose one document is now a copy keeps
        an empty read, so what it stored before goes (it is recorded as a copy instead)."""
        finder = CopyFinder(self._threshold)
        for source, stored in self._signatures.signatures():
            finder.add(source, stored)
        new = self._new_first_chunks(reads)
        sifted: dict[str, Chunked] = {}
        for source, documents in reads.items():
            sifted[source] = [
                (document, chunks)
                for document, chunks in documents
                if not (chunks and chunks[0].chunk_id in new)
                or not self._is_copy(finder, source, document, chunks)
            ]
        return sifted

    def _new_first_chunks(self, reads: dict[str, Chunked]) -> set[str]:
        """The first chunk ids of articles the store holds no exact copy of, each once."""
        firsts = list(
            dict.fromkeys(  # two files of one document (two saves of a page) share theirs
                chunks[0].chunk_id
                for documents in reads.values()
                for document, chunks in documents
                if chunks and document.record_id is None
            )
        )
        stored = {
            c.chunk_id
            for start in range(0, len(firsts), 1000)
            for c in self._store.get(firsts[start : start + 1000])
        }
        return {first for first in firsts if first not in stored}

    def _is_copy(
        self, finder: CopyFinder, source: str, document: SourceDocument, chunks: list[Chunk]
    ) -> bool:
        found = fingerprint(" ".join(c.text for c in chunks))
        for score, original in finder.originals(source, found):
            if original in self._kept or self._still_stored(original):
                copy = Copy(source, outlet_of(chunks[0]), published_of(chunks[0]))
                self._copies.setdefault(original, []).append(copy)
                self.found.append(NearDuplicate(source, original, round(score, 3)))
                return True
        finder.add(source, found)
        self._kept[source] = found
        return False

    def _still_stored(self, source: str) -> bool:
        if self._store.chunk_ids_by_document(source):
            return True
        self._signatures.forget([source])
        return False

    def record(self) -> None:
        """Once the kept articles are stored: their signatures, the copies found, and each
        original's `also_in` (an updated original's new chunks get it again)."""
        self._signatures.put(self._kept, self._copies)
        originals = sorted(set(self._copies) | set(self._kept))
        labels: dict[str, dict[str, MetadataValue]] = {}
        for original, copies in self._signatures.copies_of(originals).items():
            also_in = json.dumps([c.__dict__ for c in copies], ensure_ascii=False)
            ids = sorted(
                i for found in self._store.chunk_ids_by_document(original).values() for i in found
            )
            for chunk in self._store.get(ids):  # only what differs: no new generation else
                if chunk.metadata.get(ALSO_IN_KEY) != also_in:
                    labels[chunk.chunk_id] = {ALSO_IN_KEY: also_in}
        self._store.annotate(labels)

    def forget(self, sources: list[str]) -> None:
        self._signatures.forget(sources)
