"""OpenAI-compatible endpoints, so the openai SDK and chat UIs work unchanged."""

import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from server.contract import AnswerEvent, CitationsEvent, DeltaEvent, DoneEvent, Turn
from server.errors import InvalidInputError
from server.httpapi import deps
from server.httpapi.chat_routes import ERRORS
from server.httpapi.schemas import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChunkChoice,
    ChunkDelta,
    CompletionChoice,
    CompletionMessage,
    ModelCard,
    ModelList,
)
from server.httpapi.sse import event, sse_response
from server.plaintext import (
    CHECKED_HEADING,
    answer_as_text,
    answer_of_reply,
    short_answer_lead,
    sources_as_text,
)

router = APIRouter(prefix="/v1", tags=["openai"])
MODEL_ID = "summit"  # the assistant, whoever writes its answers (SUMMIT_LLM)


class NoQuestionError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("The last message must be a non-empty user message.")


@router.get("/models", response_model=ModelList, responses=ERRORS)
def models() -> ModelList:
    return ModelList(data=[ModelCard(id=MODEL_ID)])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
)
def chat_completions(
    request: Request, body: ChatCompletionRequest
) -> ChatCompletion | StreamingResponse:
    """A cited answer as a chat completion; `stream: true` sends chunks, then `[DONE]`."""
    question, history = _conversation(body)
    assistant = deps.assistant_for(request, question)
    model = body.model or MODEL_ID
    if body.stream:
        chunks = _completion_chunks(assistant.ask_stream(question, history), model)
        return sse_response(chunks, _error_chunk, request)
    answer = assistant.ask(question, history)
    return ChatCompletion(
        id=_completion_id(),
        model=model,
        choices=[CompletionChoice(message=CompletionMessage(content=answer_as_text(answer)))],
        answered=answer.answered,
        citations=answer.citations,
    )


def _error_chunk(detail: str) -> str:
    return event(None, {"error": {"message": detail}})


def _conversation(body: ChatCompletionRequest) -> tuple[str, list[Turn]]:
    """The last user message is the question; earlier user and assistant messages the
    history (system prompts are ignored: the assistant answers only from its documents)."""
    last = body.messages[-1]
    if last.role != "user" or not last.text().strip():
        raise NoQuestionError()
    history = [
        Turn(role=m.role, content=answer_of_reply(m.text()) if m.role == "assistant" else m.text())
        for m in body.messages[:-1]
        if m.role in ("user", "assistant")
    ]
    return last.text(), history


def _completion_chunks(events: Iterator[AnswerEvent], model: str) -> Iterator[str]:
    ident, created = _completion_id(), int(time.time())

    def chunk(delta: ChunkDelta, **extra: object) -> str:
        body = ChatCompletionChunk(
            id=ident,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason=extra.pop("finish_reason", None))],  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )
        return event(None, body.model_dump(mode="json", exclude_none=True))

    yield chunk(ChunkDelta(role="assistant", content=""))
    for item in events:
        if isinstance(item, CitationsEvent) and item.short_answer:
            yield chunk(ChunkDelta(content=short_answer_lead(item.short_answer)))
        elif isinstance(item, DeltaEvent):
            yield chunk(ChunkDelta(content=item.text))
        elif isinstance(item, DoneEvent):
            answer = item.answer
            if item.revised:  # streamed text cannot be taken back: the checked answer follows
                checked = short_answer_lead(answer.short_answer) + answer.answer
                yield chunk(ChunkDelta(content=f"\n\n{CHECKED_HEADING}\n{checked}"))
            yield chunk(ChunkDelta(content=sources_as_text(answer)))
            yield chunk(
                ChunkDelta(),
                finish_reason="stop",
                answered=answer.answered,
                citations=answer.citations,
            )
        elif not isinstance(item, CitationsEvent):
            raise TypeError(f"unexpected event {item!r}")
    yield event(None, "[DONE]")


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"
