"""Server-sent events: the wire format and a guard that ends every stream cleanly."""

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from starlette.concurrency import iterate_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from server.httpapi.failures import failure_of
from server.httpapi.limits import request_id

log = logging.getLogger(__name__)


def event(name: str | None, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


def sse_response(
    produce: Iterator[str], on_error: Callable[[str], str], request: Request
) -> StreamingResponse:
    """A stream of events that proxies pass through as they come (nginx buffers a response
    unless told not to) and nobody caches."""
    return StreamingResponse(
        guarded(produce, on_error, request_id(request.scope)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def guarded(
    produce: Iterator[str], on_error: Callable[[str], str], request_id: str
) -> AsyncIterator[str]:
    """The events of a blocking producer, run in a worker thread; a failure midway ends
    the stream with one error event (never a hung connection or a traceback).

    When the client goes away the response stops asking for events and this generator is
    closed: the producer is closed too, once the event it is making is made (for a
    language model, its next token), so the answer and the model's stream behind it stop
    rather than run on for nobody."""
    try:
        async for chunk in iterate_in_threadpool(produce):
            yield chunk
    except Exception as exc:
        failure = failure_of(exc, request_id)  # logged there when it is the server's fault
        yield on_error(failure.detail)
    finally:
        with anyio.CancelScope(shield=True):  # closing must finish even while cancelled
            await anyio.to_thread.run_sync(_close, produce, request_id)


def _close(produce: Iterator[str], request_id: str) -> None:
    close = getattr(produce, "close", None)
    try:
        if close is not None:
            close()
    except Exception:  # the stream is over either way; the log keeps why it closed badly
        log.exception("request %s: closing the stream's producer failed", request_id)
