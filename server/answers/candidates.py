"""Candidate answers out of the span reader's readings, and the decision they make.

The passages are read as their sentences joined by single spaces (so a span maps to the
sentence that holds it); readings of one passage that overlap are one answer read again, and
one answer text stated by several passages is one candidate. The best candidate answers when
its probability (its margin over "no answer here", as log-odds) reaches the threshold.
"""

import re
from dataclasses import dataclass

from server.answers.kinds import AnswerType
from server.answers.span_reader import SpanReading
from server.base.sentences import split_sentences
from server.retrieval.hybrid import Passage


@dataclass(frozen=True)
class ReadPassage:
    """A passage as the reader reads it: its sentences joined by single spaces, and where
    each sentence starts, so a span maps to the sentence that holds it."""

    passage: Passage
    text: str
    sentence_starts: list[int]

    @classmethod
    def of(cls, passage: Passage) -> "ReadPassage":
        sentences = split_sentences(passage.chunk.text)
        starts, at = [], 0
        for sentence in sentences:
            starts.append(at)
            at += len(sentence) + 1
        return cls(passage, " ".join(sentences), starts)

    def sentence_at(self, start: int, end: int) -> str:
        """The sentence holding the span (from its first sentence to its last)."""
        first = max(i for i, s in enumerate(self.sentence_starts) if s <= start)
        last = max(i for i, s in enumerate(self.sentence_starts) if s < end)
        ends = [*self.sentence_starts[1:], len(self.text) + 1]
        return self.text[self.sentence_starts[first] : ends[last] - 1]


@dataclass(frozen=True)
class Candidate:
    """One answer the reader found: its text as the best passage states it, and every
    reading of it, best first, one per passage."""

    text: str
    readings: list[SpanReading]

    @property
    def best(self) -> SpanReading:
        return self.readings[0]


@dataclass(frozen=True)
class Decision:
    """The candidates, best first, and the probability from which the best answers."""

    kind: AnswerType
    candidates: list[Candidate]
    threshold: float

    @property
    def answered(self) -> bool:
        # Compared as reported (`confidence`), so an evaluation that moves the threshold
        # over reported confidences gives exactly the answers served.
        return bool(self.candidates) and rounded(self.confidence) >= self.threshold

    @property
    def confidence(self) -> float:
        return self.candidates[0].best.probability if self.candidates else 0.0


def candidates_of(readings: list[SpanReading], passages: list[ReadPassage]) -> list[Candidate]:
    """The readings merged: within a passage, a span overlapping a better one is the same
    answer read again (overlapping windows, a longer or shorter cut); across passages, one
    answer text is one candidate. Ordered by their best reading's margin over no answer,
    which the reader learned per window and so compares across passages."""
    kept: list[SpanReading] = []
    for reading in sorted(readings, key=lambda r: -r.margin):
        if reading.end > reading.start and not any(_overlap(reading, other) for other in kept):
            kept.append(reading)
    grouped: dict[str, list[SpanReading]] = {}
    for reading in kept:
        text = passages[reading.passage].text[reading.start : reading.end]
        grouped.setdefault(normalised(text), []).append(reading)
    found = [
        Candidate(passages[group[0].passage].text[group[0].start : group[0].end], group)
        for group in grouped.values()
    ]
    return sorted(found, key=lambda c: -c.best.margin)


def _overlap(a: SpanReading, b: SpanReading) -> bool:
    return a.passage == b.passage and a.start < b.end and b.start < a.end


def normalised(text: str) -> str:
    """Lower case, words only: how two statements of one answer are told to be the same."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def rounded(value: float) -> float:
    return round(value, 4)  # as `confidence` reports it
