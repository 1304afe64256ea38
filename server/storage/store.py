"""The vector store: a Chroma collection in cosine space.

Searched through chromadb's own query rather than langchain-chroma's wrapper of it, whose
import alone (LangChain's vector-store layer) cost a cold `summit ask` 0.6 s.

Chroma is always given our embeddings: a collection left with Chroma's own embedding
function would try to download a model on first use.
"""

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from server.base.documents import Chunk, MetadataValue, indexed_text
from server.errors import StoreUnavailableError, SummitError, store_write_error
from server.storage.chroma import open_collection

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
        with _reaching_store():
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
        with _reaching_store():
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
        with _reaching_store():
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
            with _reaching_store():
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
            with _reaching_store():
                page = self._collection.get(include=include, limit=_PAGE, offset=offset)
            texts = page.get("documents") or [""] * len(page["ids"])
            yield from zip(page["ids"], texts, page["metadatas"] or [], strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def chunk_ids_by_document(self, source: str) -> dict[str, set[str]]:
        with _reaching_store():
            page = self._collection.get(where={"source": source}, include=["metadatas"])
        by_doc: dict[str, set[str]] = {}
        for chunk_id, meta in zip(page["ids"], page["metadatas"] or [], strict=True):
            by_doc.setdefault(str(meta["doc_id"]), set()).add(chunk_id)
        return by_doc

    def sources(self) -> set[str]:
        return {str(meta["source"]) for _, _, meta in self.records(include_text=False)}

    def add(self, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        """Adds (or replaces) chunks; a chunk given twice is written once, as Chroma takes
        an id once a request."""
        once = {c.chunk_id: (c, v) for c, v in zip(chunks, vectors, strict=True)}
        chunks, vectors = [c for c, _ in once.values()], [v for _, v in once.values()]
        if not chunks:
            return
        with _reaching_store():
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
            with _reaching_store():
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
        with _reaching_store():
            self._collection.modify(metadata={**self._recorded(), "relabelled": relabelled})
        for start in range(0, len(ids), _PAGE):
            page = ids[start : start + _PAGE]
            with _reaching_store():  # merged into the rest of each chunk's metadata
                self._collection.update(ids=page, metadatas=[dict(labels[i]) for i in page])

    def delete(self, chunk_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), _PAGE):
            with _reaching_store():
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
        with _reaching_store():
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
        with _reaching_store():
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


@contextmanager
def _reaching_store() -> Iterator[None]:
    """A store that stopped answering (a Chroma server gone, a disk error) is a clear,
    retryable error, not a crash. A request Chroma refuses as malformed is not the store
    failing: it is said so, never blamed on the store."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except Exception as exc:  # chromadb raises untyped errors from its Rust core and HTTP
        if _refused_as_malformed(exc):
            raise RefusedRequestError(type(exc).__name__) from exc
        otherwise = f"The store is not answering ({type(exc).__name__}); try again shortly."
        raise store_write_error(exc, otherwise) from exc


# chromadb.errors' names for a request it will never take as sent, whatever the store's state
# (told by name: importing chromadb.errors imports all of chromadb).
_MALFORMED = frozenset(
    {
        "DuplicateIDError",
        "IDAlreadyExistsError",
        "InvalidArgumentError",
        "InvalidDimensionException",
        "BatchSizeExceededError",
    }
)


def _refused_as_malformed(exc: Exception) -> bool:
    return type(exc).__module__.startswith("chromadb") and type(exc).__name__ in _MALFORMED


class RefusedRequestError(SummitError):
    def __init__(self, kind: str) -> None:
        super().__init__(
            f"summit-assistant made a request the vector index refused ({kind}): a fault of "
            "this program, not of the store; what was stored before is kept. Please report it."
        )


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
