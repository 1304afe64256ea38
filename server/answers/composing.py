"""An answer composed from the sentences the reader chose: quoted in reading order, each
with its [n] marker, led by the short answer when the question asks for a name, place,
number or date; values that sources state differently are all shown."""

from collections.abc import Callable
from dataclasses import dataclass

from server.answers.candidates import Candidate
from server.answers.question_kinds import AnswerType, answer_type
from server.document_meta import outlet_of, published_of
from server.models import Answer, Citation
from server.plaintext import with_short_answer
from server.retrieval import Passage

RELATIVE_PROBABILITY = 0.8  # further sentences must be this likely next to the best one
_SHORT_ANSWER_WORDS = 8  # a longer span is a clause, not a name or a figure
_TRIMMED = " \t,.;:!?\"'()[]\u201c\u201d\u2018\u2019"


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    probability: float  # the reader's, that the sentence answers
    span: str | None  # the short answer the reader found in the sentence


def compose(question: str, ranked: list[Scored], passages: list[Passage], most: int) -> Answer:
    """The best sentence and those nearly as likely, in reading order (document, position),
    each followed by its marker; led by the short answer when one is stated."""
    best = ranked[0].probability
    chosen = [s for s in ranked if s.probability >= best * RELATIVE_PROBABILITY][:most]
    kind = answer_type(question)
    chosen += _disagreeing(kind, ranked, chosen, question, passages)
    numbers = _marker_numbers([s.candidate for s in chosen], passages)
    quoted = [
        f"{c.sentence} [{numbers[c.passage_rank]}]"
        for c in sorted((s.candidate for s in chosen), key=_reading_order(passages))
    ]
    short = short_answer(chosen, kind, question, numbers, passages)
    citations: list[Citation] = [citation_of(n, passages[rank]) for rank, n in numbers.items()]
    return Answer(
        question=question,
        answer=with_short_answer(short, " ".join(quoted)),
        answered=True,
        citations=citations,
        short_answer=short,
        confidence=round(best, 4),
    )


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
    )


def _marker_numbers(chosen: list[Candidate], passages: list[Passage]) -> dict[int, int]:
    """[n] of each passage quoted, numbered in reading order."""
    numbers: dict[int, int] = {}
    for c in sorted(chosen, key=_reading_order(passages)):
        numbers.setdefault(c.passage_rank, len(numbers) + 1)
    return numbers


def _reading_order(passages: list[Passage]) -> Callable[[Candidate], tuple[int, int, int]]:
    first_rank_of_doc: dict[str, int] = {}
    for rank, passage in enumerate(passages):
        first_rank_of_doc.setdefault(passage.chunk.doc_id, rank)

    def key(c: Candidate) -> tuple[int, int, int]:
        chunk = passages[c.passage_rank].chunk
        return first_rank_of_doc[chunk.doc_id], chunk.position, c.sentence_index

    return key


def stated(scored: Scored, kind: AnswerType, question: str) -> str | None:
    """The short answer the reader found in the sentence, when the question asks for a
    name, place, number or date and the span is one the question does not already name."""
    if kind is AnswerType.NONE or scored.span is None:
        return None
    value = scored.span.strip(_TRIMMED)
    if not value or len(value.split()) > _SHORT_ANSWER_WORDS:
        return None
    if value.lower() in question.lower() or value == scored.candidate.sentence.strip(_TRIMMED):
        return None
    return value


def _disagreeing(
    kind: AnswerType,
    ranked: list[Scored],
    chosen: list[Scored],
    question: str,
    passages: list[Passage],
) -> list[Scored]:
    """For a number or a date: a sentence nearly as likely as the best, of another
    document, that states a different value, though the limit of sentences left it out; so
    the reader sees both values instead of one picked silently."""
    if kind not in (AnswerType.NUMBER, AnswerType.DATE) or not chosen:
        return []
    floor = chosen[0].probability * RELATIVE_PROBABILITY
    values = {stated(s, kind, question) for s in chosen} - {None}
    docs = {passages[s.candidate.passage_rank].chunk.doc_id for s in chosen}
    for scored in ranked:
        if scored in chosen or scored.probability < floor:
            continue
        value = stated(scored, kind, question)
        doc = passages[scored.candidate.passage_rank].chunk.doc_id
        if value is not None and values and value not in values and doc not in docs:
            return [scored]
    return []


def short_answer(
    chosen: list[Scored],
    kind: AnswerType,
    question: str,
    numbers: dict[int, int],
    passages: list[Passage],
) -> str | None:
    """The name, place, number or date asked for, as the quoted sentences state it; when
    sentences of different documents state different values, each with its marker."""
    values: dict[str, list[int]] = {}
    for scored in chosen:
        value = stated(scored, kind, question)
        if value is not None:
            values.setdefault(value, []).append(numbers[scored.candidate.passage_rank])
    if not values:
        return None
    if len(values) == 1:
        return next(iter(values))
    docs = {passages[rank].chunk.doc_id for rank in numbers}
    if len(docs) == 1:
        return next(iter(values))  # one document: its best sentence's value
    return "; ".join(f"{value} [{min(ns)}]" for value, ns in values.items())
