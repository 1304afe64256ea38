"""An answer's pieces as every door shows them: a passage as a citation, and a finished
answer as the events of a stream."""

import re
from collections.abc import Iterator

from server.base.document_meta import also_in_of, outlet_of, published_of
from server.contract import (
    Answer,
    AnswerEvent,
    Citation,
    CitationsEvent,
    DeltaEvent,
    DoneEvent,
    Republished,
)
from server.retrieval.hybrid import Passage


def citation_of(n: int, passage: Passage) -> Citation:
    chunk = passage.chunk
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        chunk_id=chunk.chunk_id,
        source=chunk.source,
        title=chunk.title,
        section=chunk.section,
        page=chunk.page,
        text=chunk.text,
        score=round(passage.score, 6),
        published=published_of(chunk),
        outlet=outlet_of(chunk),
        also_in=[Republished(source=s, outlet=o, published=p) for s, o, p in also_in_of(chunk)],
    )


def answer_events(answer: Answer) -> Iterator[AnswerEvent]:
    """A finished answer as the events of a stream: citations, pieces of text, the whole."""
    yield CitationsEvent(
        answered=answer.answered, citations=answer.citations, short_answer=answer.short_answer
    )
    for piece in text_pieces(answer.answer):
        yield DeltaEvent(text=piece)
    yield DoneEvent(answer=answer)


def text_pieces(text: str, words: int = 4) -> Iterator[str]:
    """The text a few words at a time, spaces kept, so the pieces join back to the text."""
    tokens = re.findall(r"\S+\s*", text)
    for start in range(0, len(tokens), words):
        yield "".join(tokens[start : start + words])
