"""The answer and search contract every front door shares (its JSON is stable)."""

from typing import Literal

from pydantic import BaseModel, Field


class Republished(BaseModel):
    """Where else a cited article appeared: a syndicated copy, stored once."""

    source: str
    outlet: str | None = None
    published: str | None = None


class Citation(BaseModel):
    n: int = Field(description="The marker number used as [n] in the answer.")
    doc_id: str
    chunk_id: str
    source: str
    title: str | None
    section: str | None
    page: int | None
    text: str = Field(description="The cited passage, verbatim.")
    score: float
    published: str | None = Field(
        default=None, description="The document's publication date, where it has one."
    )
    outlet: str | None = Field(
        default=None, description="Who published the document, where it says."
    )
    also_in: list[Republished] = Field(
        default_factory=list,
        description="Other outlets that published the same article (near-identical text), "
        "with their URLs and dates; it is stored once.",
    )


class Answer(BaseModel):
    question: str
    answer: str
    answered: bool = Field(description="False when the documents do not hold the answer.")
    citations: list[Citation]
    short_answer: str | None = Field(
        default=None,
        description="The name, place, number or date asked for, as a quoted sentence states "
        "it; doors show it before the answer text. Values that sources state differently are "
        "each followed by their [n].",
    )
    mode: Literal["extractive", "llm"] = Field(
        default="extractive",
        description="extractive: sentences quoted from the passages; llm: written by a "
        "language model, every sentence checked against the passages it cites.",
    )
    dropped: list[str] = Field(
        default_factory=list,
        description="Sentences of the model's reply removed because no cited passage "
        "supports them.",
    )
    notice: str | None = Field(
        default=None,
        description="Why the answer is not what was asked for (for example: the language "
        "model was unreachable, so the answer is extractive).",
    )
    confidence: float | None = Field(
        default=None,
        description="The span reader's probability that its best span answers rather than "
        "no answer (it answers from a calibrated threshold); null for a language model's "
        "answer.",
    )


class SearchResult(BaseModel):
    doc_id: str
    chunk_id: str
    source: str
    title: str | None
    section: str | None
    text: str
    score: float


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]


class StoreStatus(BaseModel):
    documents: int
    chunks: int
    store: str
    embedding_model: str


class DocumentInfo(BaseModel):
    """A document the store holds."""

    id: str
    title: str | None
    source: str = Field(description="The file path or URL it was read from.")
    outlet: str | None
    published: str | None
    chunks: int = Field(description="Its passages in the store.")
    added: str | None = Field(description="When it was first stored (ISO 8601, UTC).")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]
    total: int = Field(description="Documents matching the filters, on every page.")


class DocumentPassage(BaseModel):
    chunk_id: str
    section: str | None
    page: int | None
    text: str


class DocumentDetail(DocumentInfo):
    passages: list[DocumentPassage] = Field(description="In reading order.")


class Turn(BaseModel):
    """One earlier message of a conversation."""

    role: Literal["user", "assistant"]
    content: str


class CitationsEvent(BaseModel):
    """First event of a streamed answer: the passages the answer cites (or the closest)."""

    type: Literal["citations"] = "citations"
    answered: bool = Field(description="False: these are the closest passages, not sources.")
    citations: list[Citation]
    short_answer: str | None = Field(
        default=None, description="The answer's short answer, when it is known before its text."
    )


class DeltaEvent(BaseModel):
    """A piece of the answer text, in order."""

    type: Literal["delta"] = "delta"
    text: str


class DoneEvent(BaseModel):
    """Last event: the whole answer, as `summit ask --json` prints it."""

    type: Literal["done"] = "done"
    answer: Answer
    revised: bool = Field(
        default=False,
        description="True when the answer's text is not what the delta events spelled out "
        "(sentences removed, citations corrected, or the fallback answer): show it instead.",
    )


AnswerEvent = CitationsEvent | DeltaEvent | DoneEvent
