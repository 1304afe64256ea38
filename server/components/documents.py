"""The documents the store holds, wired for the doors: listed, shown with their passages,
added from uploads and URLs as background jobs, and removed (through the ingest pipeline,
under its lock, the BM25 index kept in step)."""

import shutil
from pathlib import Path

from server.components import build_pipeline
from server.components.intake import uploads_folder
from server.components.store import build_embedder
from server.contract import DocumentDetail, DocumentInfo, DocumentList, DocumentPassage
from server.errors import NotFoundError
from server.settings import Settings
from server.storage import catalogue
from server.storage.catalogue import DocumentFilter, DocumentSummary
from server.storage.store import ChunkStore


def list_documents(
    store: ChunkStore, wanted: DocumentFilter, offset: int = 0, limit: int = 50
) -> DocumentList:
    """The documents matching the filter, newest added first, a page of them."""
    matching = catalogue.filtered(catalogue.summaries(store), wanted)
    page = matching[offset : offset + limit]
    return DocumentList(documents=[_info(s) for s in page], total=len(matching))


def show_document(store: ChunkStore, doc_id: str) -> DocumentDetail:
    summary = catalogue.find(store, doc_id)
    if summary is None:
        raise DocumentNotFoundError(doc_id)
    passages = [
        DocumentPassage(chunk_id=c.chunk_id, section=c.section, page=c.page, text=c.text)
        for c in catalogue.passages(store, summary)
    ]
    return DocumentDetail(**_info(summary).model_dump(), passages=passages)


def remove_document(settings: Settings, store: ChunkStore, doc_id: str) -> None:
    """Its passages leave the store and the BM25 index; running doors see it at their next
    refresh; an uploaded file goes too, so no rebuild brings it back. A
    DocumentNotFoundError when the store holds no such document."""
    pipeline = build_pipeline(settings, store, build_embedder(settings.embedding))
    if not pipeline.remove_documents([doc_id]):
        raise DocumentNotFoundError(doc_id)
    uploads = uploads_folder(settings).resolve()
    path = Path(doc_id).resolve()
    if path.is_relative_to(uploads) and path.parent != uploads:
        shutil.rmtree(path.parent, ignore_errors=True)  # the upload's own folder


class DocumentNotFoundError(NotFoundError):
    def __init__(self, doc_id: str) -> None:
        super().__init__(f"No document {doc_id!r} in the store (`summit documents list`).")


def _info(summary: DocumentSummary) -> DocumentInfo:
    return DocumentInfo(
        id=summary.id,
        title=summary.title,
        source=summary.source,
        outlet=summary.outlet,
        published=summary.published,
        chunks=summary.chunks,
        added=summary.added,
    )
