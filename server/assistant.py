"""The one answer function every front door calls."""

import re
from collections.abc import Callable, Iterator, Sequence

from server.answering import ExtractiveAnswerer
from server.condense import standalone_question
from server.errors import EmptyQuestionError, SummitError
from server.models import (
    Answer,
    AnswerEvent,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    SearchResponse,
    SearchResult,
    StoreStatus,
    Turn,
)
from server.retrieval import HybridRetriever


class QuestionTooLongError(SummitError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The question is too long: at most {limit} characters.")


class Assistant:
    def __init__(
        self,
        retriever: HybridRetriever,
        answerer: ExtractiveAnswerer,
        status: Callable[[], StoreStatus],
        max_question_chars: int,
        max_history_turns: int = 50,
    ) -> None:
        self._retriever = retriever
        self._answerer = answerer
        self._status = status
        self._max_chars = max_question_chars
        self._max_history = max_history_turns

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        question = self._clean(question)
        recent = list(history)[-self._max_history :] if self._max_history else []
        standalone = standalone_question(question, recent)
        retrieval = self._retriever.retrieve(standalone, k=self._retrieve_k)
        return self._answerer.answer(question, standalone, retrieval)

    def ask_stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[AnswerEvent]:
        """The answer as events: its citations, the text in pieces, then the whole answer.

        The extractive answer exists whole before its first piece; a generating backend
        yields pieces as they are produced, and every front door streams the same events.
        """
        answer = self.ask(question, history)
        yield CitationsEvent(answered=answer.answered, citations=answer.citations)
        for piece in _pieces(answer.answer):
            yield DeltaEvent(text=piece)
        yield DoneEvent(answer=answer)

    def search(self, query: str, k: int = 10) -> SearchResponse:
        query = self._clean(query)
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

    @property
    def _retrieve_k(self) -> int:
        return self._answerer.passages_read

    def status(self) -> StoreStatus:
        return self._status()

    def _clean(self, text: str) -> str:
        return clean_question(text, self._max_chars)


def _pieces(text: str, words: int = 4) -> Iterator[str]:
    """The text a few words at a time, spaces kept, so the pieces join back to the text."""
    tokens = re.findall(r"\S+\s*", text)
    for start in range(0, len(tokens), words):
        yield "".join(tokens[start : start + words])


def clean_question(text: str, max_chars: int) -> str:
    """The question with its whitespace collapsed; empty or too long is a user error."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise EmptyQuestionError()
    if len(cleaned) > max_chars:
        raise QuestionTooLongError(max_chars)
    return cleaned
