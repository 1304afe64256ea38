"""The documents API: POST /documents (files and URLs, ingested as a background job),
GET /jobs/{id}, GET /documents (paged, filtered), GET and DELETE /documents/{id}."""

import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from server.contract import DocumentDetail, DocumentList
from server.httpapi import deps
from server.httpapi.schemas import Detail

router = APIRouter(tags=["documents"])
READ_ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": Detail} for c in (401, 404, 422, 503)}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": Detail} for c in (401, 403, 404, 413, 415, 422, 429, 503)
}
MAX_FILES = 20  # files one request may carry
_READ_PIECE = 1024 * 1024


class JobAccepted(BaseModel):
    job: str


class JobStatus(BaseModel):
    id: str
    state: str  # queued, running, done, failed
    report: dict[str, Any] | None = None  # the ingest report, once done
    error: str | None = None  # why it failed


@router.post("/documents", status_code=202, response_model=JobAccepted, responses=WRITE_ERRORS)
async def add_documents(
    request: Request,
    files: Annotated[list[UploadFile] | None, File(description="Files to add.")] = None,
    urls: Annotated[str | None, Form(description="Page or feed URLs to fetch, one a line.")] = None,
) -> JobAccepted:
    """Add documents: the files are kept under the store's folder and ingested, with the
    URLs, in the background; GET /jobs/{job} tells how it went."""
    from ingest.uploads import UnreadableUploadError
    from ingest.web.sources import is_url

    deps.check_writer(request)
    given = [u.strip() for u in (urls or "").splitlines() if u.strip()]
    if bad := [u for u in given if not is_url(u)]:
        raise HTTPException(422, f"Not an http(s) URL: {bad[0][:200]}")
    read = [(f.filename or "upload", await _capped(f, request)) for f in files or []]
    if not read and not given:
        raise HTTPException(422, "Send files (field `files`) or URLs (field `urls`).")
    if len(read) > MAX_FILES:
        raise HTTPException(413, f"At most {MAX_FILES} files a request.")
    intake = deps.intake(request)
    try:
        saved = await run_in_threadpool(intake.save, read)
    except UnreadableUploadError as exc:
        raise HTTPException(415, str(exc)) from exc
    job = await run_in_threadpool(intake.submit, saved, given)
    return JobAccepted(job=job.id)


async def _capped(upload: UploadFile, request: Request) -> bytes:
    """The file's bytes; 413 past the per-file limit."""
    limit = deps.settings(request).ingest.upload_max_file_bytes
    data = bytearray()
    while piece := await upload.read(_READ_PIECE):
        data += piece
        if len(data) > limit:
            name = (upload.filename or "a file")[:100]
            raise HTTPException(413, f"{name} is over {limit} bytes.")
    return bytes(data)


@router.get("/jobs/{job_id}", response_model=JobStatus, responses=READ_ERRORS)
def job_status(request: Request, job_id: str) -> JobStatus:
    """Where an ingest job stands, and its report once done."""
    job = deps.intake(request).jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"No job {job_id[:64]!r}.")
    return JobStatus(id=job.id, state=job.state, report=job.report, error=job.error)


@router.get("/documents", response_model=DocumentList, responses=READ_ERRORS)
def list_documents(
    request: Request,
    q: Annotated[str | None, Query(max_length=200, description="Words of the title.")] = None,
    outlet: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[datetime.date | None, Query(description="Published on or after.")] = None,
    until: Annotated[datetime.date | None, Query(description="Published on or before.")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentList:
    """The documents the store holds, newest added first."""
    from server.components.documents import list_documents as listed
    from server.storage.catalogue import DocumentFilter

    wanted = DocumentFilter(q, outlet, since, until)
    return listed(deps.assistant(request).store, wanted, offset, limit)


@router.get("/documents/{doc_id:path}", response_model=DocumentDetail, responses=READ_ERRORS)
def show_document(request: Request, doc_id: str) -> DocumentDetail:
    """One document with its passages, in reading order."""
    from server.components.documents import show_document as shown

    return shown(deps.assistant(request).store, doc_id)


@router.delete(
    "/documents/{doc_id:path}", status_code=204, response_class=Response, responses=WRITE_ERRORS
)
def remove_document(request: Request, doc_id: str) -> Response:
    """Take a document out: its passages are no longer searched or cited."""
    from server.components.documents import remove_document as removed

    deps.check_writer(request)
    removed(deps.settings(request), deps.assistant(request).store, doc_id)
    return Response(status_code=204)
