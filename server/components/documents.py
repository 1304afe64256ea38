"""The documents the store holds, wired for the doors: listed, shown with their passages,
added from uploads and URLs as background jobs, and removed (through the ingest pipeline,
under its lock, the BM25 index kept in step)."""

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ingest.lock import IngestBusyError
from ingest.uploads import save_upload
from ingest.web.sources import Sources
from server.components import build_pipeline, ingest
from server.components.store import build_embedder, store_layout
from server.contract import DocumentDetail, DocumentInfo, DocumentList, DocumentPassage
from server.errors import NotFoundError, UnavailableError
from server.ingest_jobs import IngestJobs, Job, JobRequest
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
    uploads = _uploads(settings).resolve()
    path = Path(doc_id).resolve()
    if path.is_relative_to(uploads) and path.parent != uploads:
        shutil.rmtree(path.parent, ignore_errors=True)  # the upload's own folder


class DocumentIntake:
    """Documents added through the doors (the page, the API, Slack shares): uploads kept
    under the store's folder, then ingested with any URLs as background jobs through
    `summit ingest`'s pipeline, one at a time. One intake serves every door of a process."""

    def __init__(self, settings: Settings, jobs: IngestJobs | None = None) -> None:
        self._settings = settings
        self._jobs = jobs
        self._lock = threading.Lock()

    @property
    def jobs(self) -> IngestJobs:
        """The background ingests, made on first use (the ingest's parts load then)."""
        with self._lock:
            if self._jobs is None:
                self._jobs = _ingest_jobs(self._settings)
            return self._jobs

    def save(self, files: list[tuple[str, bytes]]) -> list[Path]:
        """Each (name, content) saved under the store's folder; an UnreadableUploadError
        for a kind of file no loader reads (then nothing is saved)."""
        from ingest.uploads import suffix_for

        for name, data in files:
            suffix_for(name, data)  # every file checked before any is saved
        folder = _uploads(self._settings)
        return [save_upload(folder, name, data) for name, data in files]

    def submit(self, saved: list[Path], urls: Sequence[str] = ()) -> Job:
        """The saved uploads and the URLs as a background job; when no job can be taken
        (JobsBusyError), the uploads are not kept either, so no later rebuild ingests them."""
        try:
            return self.jobs.submit(JobRequest(files=saved, urls=list(urls)))
        except UnavailableError:
            _discard_uploads(self._settings, saved)
            raise

    def stop(self) -> None:
        with self._lock:
            if self._jobs is not None:
                self._jobs.stop()


def _discard_uploads(settings: Settings, saved: list[Path]) -> None:
    """Uploads that will not be ingested after all: their folders go."""
    uploads = _uploads(settings).resolve()
    for path in saved:
        if path.resolve().parent.parent == uploads:
            shutil.rmtree(path.parent, ignore_errors=True)


def _ingest_jobs(settings: Settings) -> IngestJobs:
    """One waits while another ingest of the store runs (`summit ingest`, `summit watch`)."""

    def run(request: JobRequest) -> dict[str, Any]:
        report = ingest(settings, request.files, web=Sources(urls=list(request.urls)))
        return report.as_json()

    max_waiting = settings.ingest.upload_max_waiting_jobs
    return IngestJobs(run, max_waiting, lambda exc: isinstance(exc, IngestBusyError))


def _uploads(settings: Settings) -> Path:
    """The folder uploads are kept in, beside the store's files."""
    return store_layout(settings.storage, settings.embedding).uploads


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
