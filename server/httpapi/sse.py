"""Server-sent events: the wire format and a guard that ends every stream cleanly."""

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool

from server.errors import SummitError

log = logging.getLogger(__name__)
INTERNAL_ERROR = "Something went wrong while answering; please try again."


def event(name: str | None, data: Any) -> str:
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {payload}\n\n"


async def guarded(produce: Iterator[str], on_error: Callable[[str], str]) -> AsyncIterator[str]:
    """The events of a blocking producer, run in a worker thread; a failure midway ends
    the stream with one error event (never a hung connection or a traceback)."""
    try:
        async for chunk in iterate_in_threadpool(produce):
            yield chunk
    except SummitError as exc:
        yield on_error(str(exc))
    except Exception:
        log.exception("stream failed")
        yield on_error(INTERNAL_ERROR)
