"""POST /chat, POST /chat/stream, GET /search: the answer JSON of the command line."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from server.contract import Answer, AnswerEvent, CitationsEvent, DeltaEvent, SearchResponse
from server.httpapi import deps
from server.httpapi.schemas import ChatRequest, Detail
from server.httpapi.sse import event, sse_response

router = APIRouter(tags=["chat"])
ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Detail} for code in (401, 413, 422, 429, 503)
}


@router.post("/chat", response_model=Answer, responses=ERRORS)
def chat(request: Request, body: ChatRequest) -> Answer:
    """Answer a message, using the history for follow-ups."""
    return deps.assistant_for(request, body.message).ask(body.message, body.history, body.scope)


@router.post(
    "/chat/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    response_class=StreamingResponse,
)
async def chat_stream(request: Request, body: ChatRequest) -> StreamingResponse:
    """The same answer as server-sent events: `citations`, then `delta` pieces of the text,
    then `done` with the whole answer JSON; a failure midway sends `error` and ends."""
    assistant = deps.assistant_for(request, body.message)
    events = assistant.ask_stream(body.message, body.history, body.scope)
    return sse_response(_chat_events(events), _error_event, request)


def _error_event(detail: str) -> str:
    return event("error", {"detail": detail})


def _chat_events(events: Iterator[AnswerEvent]) -> Iterator[str]:
    for item in events:
        if isinstance(item, CitationsEvent):
            yield event("citations", item.model_dump(mode="json", exclude={"type"}))
        elif isinstance(item, DeltaEvent):
            yield event("delta", {"text": item.text})
        else:
            yield event("done", item.answer.model_dump(mode="json"))


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
def search(
    request: Request,
    q: Annotated[str, Query(description="The query.")],
    k: Annotated[int, Query(ge=1, le=100, description="Passages to return.")] = 10,
) -> SearchResponse:
    """The passages that best match a query, best first."""
    return deps.assistant_for(request, q).search(q, k)
