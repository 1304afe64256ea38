"""The one answer function every front door calls."""

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from server.contract import (
    Answer,
    AnswerEvent,
    DoneEvent,
    SearchResponse,
    SearchResult,
    StoreStatus,
    Turn,
)
from server.errors import EmptyQuestionError, InvalidInputError
from server.llm.condense import RuleCondenser
from server.retrieval.dates import EVERY_DOCUMENT, Scope
from server.retrieval.headlines import Headline, LatestHeadlines
from server.retrieval.hybrid import HybridRetriever, Retrieval
from server.storage.store import ChunkStore


class Answerer(Protocol):
    """Writes the answer from the retrieved passages: extractive, or a language model."""

    @property
    def passages_read(self) -> int: ...

    def stream(
        self, question: str, standalone: str, retrieval: Retrieval
    ) -> Iterator[AnswerEvent]: ...


class Condenser(Protocol):
    """Turns a follow-up into a question that stands alone, for retrieval."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str: ...


class InvalidTextError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("The question holds characters that are not valid text.")


class QuestionTooLongError(InvalidInputError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The question is too long: at most {limit} characters.")


class Searcher:
    """Passages for a query: retrieval alone, no answerer (what `summit search` builds)."""

    def __init__(self, retriever: HybridRetriever, max_question_chars: int) -> None:
        self._retriever = retriever
        self._max_chars = max_question_chars

    def search(self, query: str, k: int = 10) -> SearchResponse:
        query = clean_question(query, self._max_chars)
        passages = self._retriever.retrieve(query, k=max(k, 1)).passages
        results = [
            SearchResult(
                doc_id=p.chunk.doc_id,
                chunk_id=p.chunk.chunk_id,
                source=p.chunk.source,
                title=p.chunk.title,
                section=p.chunk.section,
                text=p.chunk.text,
                score=round(p.score, 6),
            )
            for p in passages
        ]
        return SearchResponse(query=query, results=results)


class Assistant:
    def __init__(
        self,
        retriever: HybridRetriever,
        answerer: Answerer,
        status: Callable[[], StoreStatus],
        max_question_chars: int,
        max_history_turns: int = 50,
        condenser: Condenser | None = None,
        refresh: Callable[[], bool] | None = None,
    ) -> None:
        self._retriever = retriever
        self._searcher = Searcher(retriever, max_question_chars)
        self._answerer = answerer
        self._condenser = condenser or RuleCondenser()
        self._refresh = refresh
        self._status = status
        self._max_chars = max_question_chars
        self._max_history = max_history_turns
        self._headlines = LatestHeadlines()

    def ask(
        self, question: str, history: Sequence[Turn] = (), scope: Scope = EVERY_DOCUMENT
    ) -> Answer:
        """The answer from the documents in scope (by default all of them)."""
        for event in self.ask_stream(question, history, scope):
            if isinstance(event, DoneEvent):
                return event.answer
        raise RuntimeError("the answerer ended without an answer")

    def ask_stream(
        self, question: str, history: Sequence[Turn] = (), scope: Scope = EVERY_DOCUMENT
    ) -> Iterator[AnswerEvent]:
        """The answer as events: its citations, the text in pieces, then the whole answer.

        The question is checked here, at the call, before any work: an empty, too long or
        invalid one raises an InvalidInputError that each door maps, and no stream begins.
        Every front door streams these same events; a language model yields pieces as it
        writes them, and the last event carries the answer as checked against its passages.
        """
        question = clean_question(question, self._max_chars)
        return self._answer(question, history, scope)

    def _answer(
        self, question: str, history: Sequence[Turn], scope: Scope
    ) -> Iterator[AnswerEvent]:
        recent = _valid_turns(history)[-self._max_history :] if self._max_history else []
        standalone = self._condenser.standalone(question, recent)
        retrieval = self._retriever.retrieve(standalone, self._answerer.passages_read, scope)
        yield from self._answerer.stream(question, standalone, retrieval)

    def search(self, query: str, k: int = 10) -> SearchResponse:
        return self._searcher.search(query, k)

    def headlines(self, n: int) -> list[Headline]:
        """The titles of the `n` most recently published documents, newest first."""
        return self._headlines.latest(self._retriever.store, n)

    def refresh(self) -> bool:
        """Picks up documents another process ingested; True if anything changed."""
        return self._refresh() if self._refresh is not None else False

    def status(self) -> StoreStatus:
        return self._status()

    @property
    def store(self) -> ChunkStore:
        """The store answers come from now (its documents, as the doors list them)."""
        return self._retriever.indexes.store


def clean_question(text: str, max_chars: int) -> str:
    """The question with its whitespace collapsed and invisible characters (zero-width,
    controls) dropped; empty, too long or not valid text is a user error."""
    cleaned = " ".join(text.split())
    if not visible_text(cleaned).strip():
        raise EmptyQuestionError()
    if _has_lone_surrogate(cleaned):
        raise InvalidTextError()
    if len(cleaned) > max_chars:
        raise QuestionTooLongError(max_chars)
    return cleaned


def visible_text(text: str) -> str:
    """The text without format and control characters (zero-width spaces, BOMs, soft
    hyphens, direction marks), which look like nothing yet defeat a plain emptiness check."""
    return "".join(
        " " if char in "\t\n\r" else char
        for char in text
        if char in "\t\n\r" or unicodedata.category(char) not in ("Cc", "Cf")
    )


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _valid_turns(history: Sequence[Turn]) -> list[Turn]:
    """Earlier messages with text that cannot be encoded replaced: they are context only."""
    return [
        Turn(role=t.role, content=t.content.encode("utf-8", "replace").decode("utf-8"))
        for t in history
    ]
