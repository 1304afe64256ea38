"""The answer and search contract every front door shares (its JSON is stable)."""

from pydantic import BaseModel, Field


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


class Answer(BaseModel):
    question: str
    answer: str
    answered: bool = Field(description="False when the documents do not hold the answer.")
    citations: list[Citation]


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


class Turn(BaseModel):
    """One earlier message of a conversation."""

    role: str = Field(pattern="^(user|assistant)$")
    content: str
