"""GET / (the chat page), GET /healthz (alive), GET /readyz (store loaded)."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from server.errors import NotReadyError
from server.httpapi import deps
from server.httpapi.chat_routes import ERRORS
from server.httpapi.schemas import Readiness

STATIC = Path(__file__).parent / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/healthz", tags=["health"])
def healthz() -> dict[str, str]:
    """The process is alive (it may still be loading)."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, tags=["health"], responses=ERRORS)
def readyz(request: Request) -> Readiness:
    """The assistant is loaded and its indexes are current: the store's document and chunk
    counts. 503 with the reason (and Retry-After) while it loads, or when loading or the
    last refresh failed (answers then come from the indexes loaded before, if any)."""
    readiness = deps.runtime(request).readiness()
    if not readiness.ready:
        raise NotReadyError(readiness.reason or "not ready", readiness.retry_after_s)
    status = deps.assistant(request).status()
    return Readiness(status="ready", documents=status.documents, chunks=status.chunks)
