"""Request and response bodies of the HTTP API (the answer JSON itself is server.contract)."""

import datetime
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from server.contract import Citation, Turn
from server.retrieval.dates import Scope


class ChatRequest(BaseModel):
    message: str = Field(description="The question (the core refuses an empty or long one).")
    history: list[Turn] = Field(
        default_factory=list, description="Earlier messages, oldest first; follow-ups use them."
    )
    as_of: datetime.date | None = Field(
        default=None,
        description="Answer as of this day (YYYY-MM-DD): from the documents published in the "
        "two weeks before it, and those without a date.",
    )

    @property
    def scope(self) -> Scope:
        return Scope(as_of=self.as_of)


class Readiness(BaseModel):
    status: Literal["ready"]
    documents: int
    chunks: int


class Detail(BaseModel):
    detail: str


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class OpenAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request; sampling options are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    # Echoed back in the reply: bounded, and a length limit makes pydantic refuse text that
    # cannot be encoded (a lone surrogate) with a 422.
    model: str | None = Field(default=None, max_length=200)
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False


class CompletionMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int = 0
    message: CompletionMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[CompletionChoice]
    usage: Usage = Field(default_factory=Usage)
    answered: bool = Field(description="Extra: False when the documents do not hold the answer.")
    citations: list[Citation] = Field(description="Extra: the structured citations.")


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    answered: bool | None = None
    citations: list[Citation] | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "summit-assistant"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
