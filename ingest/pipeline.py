"""Files in, store in step: load → chunk → embed → store, then the lexical index.

Chunk ids come from content, so unchanged documents cost no embedding; a changed document
gets its new chunks first and loses its old ones after, so a failure midway loses nothing.
Every file is read before anything is written; what to write is planned in ingest/planning.py.
"""

import datetime
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

from ingest.chunker import Chunker
from ingest.file_reading import Chunked, read_file
from ingest.lock import ingest_lock
from ingest.near_duplicates import SignatureFile
from ingest.planning import Plan, Planner
from ingest.report import IngestReport, Skipped, Warned
from ingest.syndication import Syndication
from ingest.web.fetcher import PoliteFetcher
from ingest.web.sources import Sources, is_url
from ingest.web.web_documents import WebDocuments
from server.base.documents import Chunk
from server.base.sentences import split_sentences
from server.errors import PathNotFoundError
from server.storage.catalogue import ADDED_KEY
from server.storage.embeddings import Embedder
from server.storage.lexical import LexicalIndex, sync_lexical_index
from server.storage.sentence_vectors import SentenceVectorStore
from server.storage.store import ChunkStore

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class CopyPolicy:
    """The files beside the store that syndicated copies and fetches are tracked in."""

    signatures: Path  # ingest/near_duplicates.py
    fetch_state: Path  # ingest/web/state.py
    threshold: float  # estimated 5-gram Jaccard similarity from which a text is a copy


@dataclass(frozen=True)
class WebFetch:
    sources: Sources  # the feeds, pages and bare URLs to read (its paths are read as files)
    fetcher: PoliteFetcher


class IngestPipeline:
    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        chunker: Chunker,
        lexical_dir: Path,
        batch_size: int,
        sentence_vectors: SentenceVectorStore | None = None,
        lock: Path | None = None,
        copies: CopyPolicy | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._chunker = chunker
        self._lexical_dir = lexical_dir
        self._batch_size = batch_size
        self._sentence_vectors = sentence_vectors
        self._lock = lock  # the file that keeps a second ingest of this store out (ingest/lock.py)
        self._copies = copies  # None: near-duplicates are stored as they come

    @property
    def store(self) -> ChunkStore:
        return self._store

    @property
    def chunker(self) -> Chunker:
        return self._chunker

    def ingest(
        self,
        paths: list[Path],
        prune: bool = False,
        progress: Progress | None = None,
        web: WebFetch | None = None,
    ) -> IngestReport:
        with ingest_lock(self._lock) if self._lock else nullcontext():
            return self._ingest(paths, prune, progress, web)

    def _ingest(
        self, paths: list[Path], prune: bool, progress: Progress | None, web: WebFetch | None
    ) -> IngestReport:
        files = discover_files(paths)
        vectors_complete = self._sentence_vectors_complete()  # before anything changes
        report = IngestReport()
        reads = self._read_files(files, report, progress)
        web_documents = self._web_documents(web)
        if web is not None and web_documents is not None:
            reads.update(web_documents.read(web.sources, report))
        syndication = self._syndication()
        if syndication is not None:
            reads = syndication.sift(reads)
            report.near_duplicates = syndication.found
        self._write(Planner(self._store, reads, report).plan(), progress)
        if prune:
            gone = sorted(s for s in self._store.sources() if not _still_there(s))
            report.removed += self._store.delete_sources(gone)
            if syndication is not None:
                syndication.forget(gone)
        if syndication is not None:
            syndication.record()
        if web_documents is not None:
            web_documents.save_state()
        # BM25 saved first, so a server that sees the new generation finds it in step.
        version = self.sync_lexical_index().version
        self._store.publish(version)
        self._complete_sentence_vectors(vectors_complete, version, progress)
        report.chunks = self._store.count()
        return report

    def remove_documents(self, doc_ids: list[str]) -> list[str]:
        """Takes these documents out of the store (the BM25 index follows, and running
        servers see it at their next refresh); returns the ids that were stored."""
        with ingest_lock(self._lock) if self._lock else nullcontext():
            chunks = self._store.chunks_of_documents(doc_ids)
            self._store.delete(c.chunk_id for c in chunks)
            gone = {c.source for c in chunks} - self._store.sources_of({c.source for c in chunks})
            if self._copies is not None and gone:
                SignatureFile(self._copies.signatures).forget(sorted(gone))
            self._store.publish(self.sync_lexical_index().version)
        return sorted({c.doc_id for c in chunks})

    def _syndication(self) -> Syndication | None:
        if self._copies is None:
            return None
        return Syndication(
            self._store, SignatureFile(self._copies.signatures), self._copies.threshold
        )

    def _web_documents(self, web: WebFetch | None) -> WebDocuments | None:
        if web is None or self._copies is None:
            return None
        signatures = SignatureFile(self._copies.signatures)

        def is_stored(source: str) -> bool:
            return bool(self._store.chunk_ids_by_document(source)) or signatures.is_copy(source)

        return WebDocuments(web.fetcher, self._copies.fetch_state, self._chunker, is_stored)

    def _read_files(
        self, files: list[Path], report: IngestReport, progress: Progress | None
    ) -> dict[str, Chunked]:
        """The documents and chunks of every file that can be read; the others are reported,
        and what the store holds of them is kept."""

        def skip(location: str, reason: str) -> None:
            report.skipped.append(Skipped(location, reason))

        reads: dict[str, Chunked] = {}
        for number, path in enumerate(files, start=1):
            read = read_file(path, self._chunker, skip)
            report.warnings.extend(Warned(str(path), message) for message in read.warnings)
            if read.problem is None:
                reads[str(path)] = read.documents
            else:
                skip(str(path), read.problem)
            _notify(progress, "read", number, len(files))
        return reads

    def _write(self, plan: Plan, progress: Progress | None) -> None:
        # A chunk that is being added or relabelled is never deleted, whatever planned it.
        plan.to_delete -= {c.chunk_id for c in plan.to_add} | plan.to_move.keys()
        # An edited document's passages all get new ids (its identity changed); those whose
        # text did not change take the vector of the chunk they replace.
        reusable = self._store.vectors_by_text(sorted(plan.to_delete)) if plan.to_add else {}
        total = len(plan.to_add)
        added = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        for start in range(0, total, self._batch_size):
            batch = [_stamped(c, added) for c in plan.to_add[start : start + self._batch_size]]
            self._store_sentence_vectors(batch)  # first: a rerun after a kill skips them
            self._store.add(batch, self._vectors(batch, reusable))
            _notify(progress, "embed", start + len(batch), total)
        self._store.relabel(plan.to_move)
        self._store.delete(sorted(plan.to_delete))

    def _vectors(self, chunks: list[Chunk], reusable: dict[str, list[float]]) -> list[list[float]]:
        texts = [c.indexed_text for c in chunks]
        missing = list(dict.fromkeys(t for t in texts if t not in reusable))
        fresh = dict(zip(missing, self._embedder.embed_documents(missing), strict=True))
        return [reusable[t] if t in reusable else fresh[t] for t in texts]

    def _sentence_vectors_complete(self) -> bool:
        """Whether the vector file holds the sentences of every chunk stored now."""
        if self._sentence_vectors is None:
            return True
        if self._store.count() == 0:
            return True
        # The ids as stored, not the published generation: a killed ingest may have added
        # chunks since, without their sentences if it ran without the file.
        return self._sentence_vectors.complete_for() == self._store.version()

    def _complete_sentence_vectors(
        self, was_complete: bool, version: str, progress: Progress | None
    ) -> None:
        """Fills in the sentences of chunks stored before (by an ingest without the file, or
        one killed before it recorded that it was complete), then records the generation."""
        vectors = self._sentence_vectors
        if vectors is None:
            return
        if not was_complete:
            total, done = self._store.count(), 0
            texts = (text for _, text, _ in self._store.records())
            while batch := list(islice(texts, self._batch_size)):
                _store_sentences(vectors, self._embedder, batch)
                done += len(batch)
                _notify(progress, "sentences", done, total)
        vectors.mark_complete(version)

    def _store_sentence_vectors(self, chunks: list[Chunk]) -> None:
        if self._sentence_vectors is not None:
            _store_sentences(self._sentence_vectors, self._embedder, [c.text for c in chunks])

    def sync_lexical_index(self) -> LexicalIndex:
        """The saved BM25 index, rebuilt from the store's records when out of step."""
        return sync_lexical_index(self._store, self._lexical_dir)


def _store_sentences(
    vectors: SentenceVectorStore, embedder: Embedder, chunk_texts: list[str]
) -> None:
    """The vectors of the chunks' sentences, as answers read them (the chunk text split the
    same way), for those not stored yet."""
    sentences = [s for text in chunk_texts for s in split_sentences(text)]
    missing = vectors.missing(sentences)
    if missing:
        vectors.put(missing, embedder.encode(missing))


def _stamped(chunk: Chunk, added: str) -> Chunk:
    """The chunk with when it was stored (a listing's `added`), unless it says already."""
    if ADDED_KEY in chunk.metadata:
        return chunk
    return replace(chunk, metadata={**chunk.metadata, ADDED_KEY: added})


def _still_there(source: str) -> bool:
    """A file that exists, or a URL: a page gone from its feed is still the article."""
    return is_url(source) or Path(source).exists()


def discover_files(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest, folders walked recursively; hidden files and folders are left out."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise PathNotFoundError(str(path))
        if path.is_dir():
            files.extend(_walk(path))
        else:
            files.append(path.resolve())
    return sorted(dict.fromkeys(files))


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.resolve().rglob("*")):
        relative = path.relative_to(folder.resolve())
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            yield path  # unsupported formats are reported as skipped, not silently ignored


def _notify(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress is not None:
        progress(stage, done, total)
