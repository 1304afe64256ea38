"""The answer composed from a decision to answer: the best span as the short answer, the
sentence that holds it, cited, the sentences of other documents that state it too, and, asked
how many, when or who, those of other documents that state a different value nearly as
surely, side by side."""

from collections.abc import Callable
from dataclasses import dataclass

from server.answers.candidates import Candidate, Decision, ReadPassage, normalised, rounded
from server.answers.kinds import AnswerType
from server.answers.pieces import citation_of
from server.answers.span_reader import SpanReading
from server.contract import Answer

# A differing value is shown beside the best one when its own margin over "no answer" is
# at most this much (log-odds) below the best's: nearly as sure, not a distant runner-up.
DISAGREEMENT_MARGIN = 1.0
_DISAGREEING_KINDS = (AnswerType.NUMBER, AnswerType.DATE, AnswerType.PERSON)


@dataclass(frozen=True)
class Quote:
    reading: SpanReading
    sentence: str
    value: str  # the span, as this passage states it


def compose(question: str, decision: Decision, passages: list[ReadPassage], most: int) -> Answer:
    """The sentence holding the best span; the sentences of other documents that state the
    same answer; for how many / when / who, those of other documents that state a value
    nearly as surely; each followed by its marker, in reading order."""
    best = decision.candidates[0]
    quotes = _supporting(best, decision.threshold, passages, most)
    quotes += _disagreeing(decision, quotes, passages)
    numbers = _marker_numbers(quotes, passages)
    ordered = sorted(quotes, key=_reading_order(passages))
    text = " ".join(f"{q.sentence} [{numbers[q.reading.passage]}]" for q in ordered)
    short = _short_answer(quotes, numbers)
    return Answer(
        question=question,
        answer=text,
        answered=True,
        citations=[citation_of(n, passages[i].passage) for i, n in numbers.items()],
        short_answer=short,
        confidence=rounded(decision.confidence),
    )


def _quote(reading: SpanReading, passages: list[ReadPassage]) -> Quote:
    read = passages[reading.passage]
    return Quote(
        reading,
        read.sentence_at(reading.start, reading.end),
        read.text[reading.start : reading.end],
    )


def _supporting(
    candidate: Candidate, threshold: float, passages: list[ReadPassage], most: int
) -> list[Quote]:
    """The best reading's sentence, then other documents' readings of the same answer that
    clear the threshold themselves, one per document, a sentence quoted once."""
    quotes = [_quote(candidate.best, passages)]
    docs = {_doc(candidate.best, passages)}
    for reading in candidate.readings[1:]:
        if len(quotes) >= most or rounded(reading.probability) < threshold:
            break
        quote = _quote(reading, passages)
        if _doc(reading, passages) in docs or any(q.sentence == quote.sentence for q in quotes):
            continue
        docs.add(_doc(reading, passages))
        quotes.append(quote)
    return quotes


def _disagreeing(
    decision: Decision, quotes: list[Quote], passages: list[ReadPassage]
) -> list[Quote]:
    """For how many / when / who: the best reading of another document that states a
    different value nearly as surely, so the reader sees both instead of one picked
    silently."""
    if decision.kind not in _DISAGREEING_KINDS:
        return []
    floor = decision.candidates[0].best.margin - DISAGREEMENT_MARGIN
    docs = {_doc(q.reading, passages) for q in quotes}
    for candidate in decision.candidates[1:]:
        reading = candidate.best
        if reading.margin < floor or rounded(reading.probability) < decision.threshold:
            break
        if _doc(reading, passages) not in docs and not _within(candidate, decision):
            return [_quote(reading, passages)]
    return []


def _within(candidate: Candidate, decision: Decision) -> bool:
    """The value is part of the best one, or holds it ("Nara" and "Nara, Japan")."""
    ours, best = normalised(candidate.text), normalised(decision.candidates[0].text)
    return ours in best or best in ours


def _doc(reading: SpanReading, passages: list[ReadPassage]) -> str:
    return str(passages[reading.passage].passage.chunk.doc_id)


def _short_answer(quotes: list[Quote], numbers: dict[int, int]) -> str:
    """The span; when sources state different values, each followed by its marker."""
    values: dict[str, list[int]] = {}
    shown: dict[str, str] = {}
    for quote in quotes:
        key = normalised(quote.value)
        shown.setdefault(key, quote.value)
        values.setdefault(key, []).append(numbers[quote.reading.passage])
    if len(values) == 1:
        return quotes[0].value
    return "; ".join(f"{shown[key]} [{min(ns)}]" for key, ns in values.items())


def _marker_numbers(quotes: list[Quote], passages: list[ReadPassage]) -> dict[int, int]:
    """[n] of each passage quoted, numbered in reading order."""
    numbers: dict[int, int] = {}
    for quote in sorted(quotes, key=_reading_order(passages)):
        numbers.setdefault(quote.reading.passage, len(numbers) + 1)
    return numbers


def _reading_order(passages: list[ReadPassage]) -> Callable[[Quote], tuple[int, int, int]]:
    """Documents in the order they were first ranked; within one, passages and spans in
    the order the document has them."""
    first_rank_of_doc: dict[str, int] = {}
    for rank, read in enumerate(passages):
        first_rank_of_doc.setdefault(read.passage.chunk.doc_id, rank)

    def key(quote: Quote) -> tuple[int, int, int]:
        chunk = passages[quote.reading.passage].passage.chunk
        return first_rank_of_doc[chunk.doc_id], chunk.position, quote.reading.start

    return key
