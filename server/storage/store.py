"""The vector store: a Chroma collection in cosine space.

Searched through chromadb's own query rather than langchain-chroma's wrapper of it, whose
import alone (LangChain's vector-store layer) cost a cold `summit ask` 0.6 s.

Chroma is always given our embeddings: a collection left with Chroma's own embedding
function would try to download a model on first use.
"""

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from server.base.documents import Chunk, MetadataValue, indexed_text
from server.storage.chroma import open_collection
from server.storage.reaching import reaching_store

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

_PAGE = 5000  # records per request when reading the whole collection
_CORE_KEYS = ("doc_id", "source", "title", "section", "page", "position")


class ChunkStore:
    """Chunks with their embeddings and metadata, in one Chroma collection."""

    def __init__(self, client: "ClientAPI", name: str, model_label: str) -> None:
        self._client = client
        self._name = name
        self._collection = open_collection(client, name, model_label)

    def count(self) -> int:
        with reaching_store():
            return int(self._collection.count())

    def generation(self) -> str:
        """What running servers watch to refresh their indexes: the version of the chunks
        the last completed ingest left (see `publish`)."""
        return str(self._recorded().get("generation", ""))

    def publish(self, version: str) -> None:
        """Records `version` as the generation, with the document count, when it differs.
        Called at the end of every ingest, so one killed after its writes is published by
        the rerun, which finds nothing left to write but a generation out of step."""
        if self.generation() == version:
            return
        recorded = {"generation": version, "documents": self._count_documents()}
        with reaching_store():
            self._collection.modify(metadata={**self._recorded(), **recorded})

    def document_count(self) -> int:
        """As the last completed ingest recorded it: counting means reading the metadata
        of every chunk (seconds at 100k chunks), too slow for a readiness probe."""
        recorded = self._recorded().get("documents")
        return recorded if isinstance(recorded, int) else self._count_documents()

    def _count_documents(self) -> int:
        return len({meta["doc_id"] for _, _, meta in self.records(include_text=False)})

    def _recorded(self) -> Mapping[str, Any]:
        """The collection's metadata as stored now (another process may have changed it)."""
        with reaching_store():
            collection = self._client.get_collection(self._name, embedding_function=None)
        return collection.metadata or {}

    def version(self) -> str:
        """A digest of the chunk ids: it changes whenever any chunk is added or removed,
        and with the count of relabellings, so that indexes and running servers also see
        passages that moved to a new path (their ids stay, their source changes)."""
        digest = hashlib.sha256("\n".join(sorted(self._ids())).encode()).hexdigest()
        relabelled = self._recorded().get("relabelled", 0)
        return f"{digest}.{relabelled}" if relabelled else digest

    def _ids(self) -> Iterator[str]:
        """Every chunk id, a page at a time, without metadata (8x faster at 100k chunks)."""
        offset = 0
        while True:
            with reaching_store():
                page = self._collection.get(include=[], limit=_PAGE, offset=offset)
            yield from page["ids"]
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def records(self, include_text: bool = True) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(chunk id, text, metadata) of every chunk, read a page at a time."""
        include: list[Any] = ["metadatas", "documents"] if include_text else ["metadatas"]
        offset = 0
        while True:
            with reaching_store():
                page = self._collection.get(include=include, limit=_PAGE, offset=offset)
            texts = page.get("documents") or [""] * len(page["ids"])
            yield from zip(page["ids"], texts, page["metadatas"] or [], strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def chunk_ids_by_document(self, source: str) -> dict[str, set[str]]:
        with reaching_store():
            page = self._collection.get(where={"source": source}, include=["metadatas"])
        by_doc: dict[str, set[str]] = {}
        for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
            by_doc.setdefault(str(meta["doc_id"]), set()).add(chunk_id)
        return by_doc

    def chunks_of_documents(self, doc_ids: list[str]) -> list[Chunk]:
        """Every chunk of these documents (no text)."""
        if not doc_ids:
            return []
        with reaching_store():
            where: Any = {"doc_id": {"$in": sorted(set(doc_ids))}}
            page = self._collection.get(where=where, include=["metadatas"])
        return [
            chunk_from_record(chunk_id, "", meta)
            for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True)
        ]

    def sources_of(self, sources: set[str]) -> set[str]:
        """Those of these sources that still have chunks."""
        if not sources:
            return set()
        with reaching_store():
            where: Any = {"source": {"$in": sorted(sources)}}
            page = self._collection.get(where=where, include=["metadatas"])
        return {str(meta["source"]) for meta in page["metadatas"] or []}

    def sources(self) -> set[str]:
        return {str(meta["source"]) for _, _, meta in self.records(include_text=False)}

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Adds (or replaces) chunks; a chunk given twice is written once, as Chroma takes
        an id once a request."""
        once = {c.chunk_id: (c, v) for c, v in zip(chunks, vectors, strict=True)}
        chunks, vectors = [c for c, _ in once.values()], [v for _, v in once.values()]
        if not chunks:
            return
        with reaching_store():
            self._collection.upsert(
                ids=[c.chunk_id for c in chunks],
                embeddings=vectors,  # type: ignore[arg-type]
                documents=[c.text for c in chunks],
                metadatas=[_metadata(c) for c in chunks],
            )

    def vectors_by_text(self, chunk_ids: list[str]) -> dict[str, list[float]]:
        """The stored vectors of these chunks, by the text they embed (title and text)."""
        found: dict[str, list[float]] = {}
        for start in range(0, len(chunk_ids), _PAGE):
            with reaching_store():
                page = self._collection.get(
                    ids=chunk_ids[start : start + _PAGE],
                    include=["documents", "metadatas", "embeddings"],
                )
            vectors = page["embeddings"]  # a numpy array: `or []` would ask its truth value
            if vectors is None:
                continue
            rows = zip(page["documents"] or [], page["metadatas"] or [], vectors, strict=True)
            for text, meta, vector in rows:
                title = meta.get("title")
                found[indexed_text(title if isinstance(title, str) else None, text)] = [
                    float(x) for x in vector
                ]
        return found

    def relabel(self, moves: Mapping[str, tuple[str, str]]) -> None:
        """Gives chunks a new (doc_id, source): a document found at a new path keeps its
        vectors."""
        self.annotate(
            {i: {"doc_id": doc_id, "source": source} for i, (doc_id, source) in moves.items()}
        )

    def annotate(self, labels: Mapping[str, Mapping[str, MetadataValue]]) -> None:
        """Merges metadata into chunks (their text and vectors stay). The count of
        relabellings goes up first: an ingest killed midway then still leaves a version that
        differs, so its rerun publishes the change and running servers read it."""
        ids = list(labels)
        if not ids:
            return
        relabelled = int(self._recorded().get("relabelled", 0)) + 1
        with reaching_store():
            self._collection.modify(metadata={**self._recorded(), "relabelled": relabelled})
        for start in range(0, len(ids), _PAGE):
            page = ids[start : start + _PAGE]
            with reaching_store():  # merged into the rest of each chunk's metadata
                self._collection.update(ids=page, metadatas=[dict(labels[i]) for i in page])

    def delete(self, chunk_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), _PAGE):
            with reaching_store():
                self._collection.delete(ids=ids[start : start + _PAGE])

    def delete_sources(self, sources: Iterable[str]) -> int:
        """Remove every chunk of these source files; returns the documents removed."""
        removed = 0
        for source in sources:
            by_doc = self.chunk_ids_by_document(source)
            self.delete(chunk_id for ids in by_doc.values() for chunk_id in ids)
            removed += len(by_doc)
        return removed

    def get(self, chunk_ids: list[str]) -> list[Chunk]:
        if not chunk_ids:
            return []
        with reaching_store():
            page = self._collection.get(
                ids=list(dict.fromkeys(chunk_ids)), include=["metadatas", "documents"]
            )
        found = {
            chunk_id: chunk_from_record(chunk_id, text, meta)
            for chunk_id, text, meta in zip(
                page["ids"], page["documents"] or [], page["metadatas"] or [], strict=True
            )
        }
        return [found[chunk_id] for chunk_id in chunk_ids if chunk_id in found]

    def dense_search(
        self,
        vector: list[float],
        k: int,
        exclude: frozenset[str] = frozenset(),
        only: frozenset[str] | None = None,
    ) -> list[tuple[Chunk, float]]:
        """The k nearest chunks with their cosine similarity, best first; chunks of the
        documents in `exclude` are not searched, nor, when `only` is given, of any other."""
        if k <= 0 or only == frozenset():  # an empty collection simply has no hits
            return []
        where: Any = None
        if only is not None:
            where = {"doc_id": {"$in": sorted(only - exclude)}}
        elif exclude:
            where = {"doc_id": {"$nin": sorted(exclude)}}
        with reaching_store():
            found = self._collection.query(
                query_embeddings=vector,
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        rows = zip(
            found["ids"][0],
            (found["documents"] or [[]])[0],
            (found["metadatas"] or [[]])[0],
            (found["distances"] or [[]])[0],
            strict=True,
        )
        return [
            (chunk_from_record(chunk_id, text or "", dict(meta or {})), 1.0 - float(distance))
            for chunk_id, text, meta, distance in rows
        ]


def _metadata(chunk: Chunk) -> dict[str, MetadataValue]:
    core: dict[str, MetadataValue | None] = {
        "doc_id": chunk.doc_id,
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "page": chunk.page,
        "position": chunk.position,
    }
    # Chroma stores no nulls: an absent key means "none".
    return {**chunk.metadata, **{k: v for k, v in core.items() if v is not None}}


def chunk_from_record(chunk_id: str, text: str, meta: Mapping[str, Any]) -> Chunk:
    page = meta.get("page")
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        source=str(meta["source"]),
        title=meta.get("title"),
        section=meta.get("section"),
        page=int(page) if page is not None else None,
        position=int(meta.get("position", 0)),
        text=text,
        metadata={k: v for k, v in meta.items() if k not in _CORE_KEYS},
    )
