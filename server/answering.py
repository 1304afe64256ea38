"""The extractive answerer: quotes the retrieved sentences that answer the question.

A sentence may answer only if it is close in meaning to the question, the passage around
it contains most of what the question is about (or the meaning is very close), and it can
state the kind of fact asked for. When no sentence passes, the answer says plainly that the
documents do not hold it and offers the closest passages instead of guessing.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ingest.sentences import split_sentences
from server.embeddings import CachedEncoder
from server.models import Answer, AnswerEvent, Citation, CitationsEvent, DeltaEvent, DoneEvent
from server.prompts import PromptLibrary
from server.question import (
    FactKind,
    fact_kind,
    states_fact_kind,
    subject_terms,
    term_coverages,
)
from server.retrieval import Passage, Retrieval

_CLOSEST_PASSAGES = 3  # offered when the documents do not hold the answer
_RELATIVE_RELEVANCE = 0.8  # further sentences must be this close to the best one
_ALL_TERMS = 1.0 - 1e-9  # coverage of every subject term, allowing for rounding


@dataclass(frozen=True)
class AnswerPolicy:
    passages: int
    max_sentences: int
    min_coverage: float
    min_similarity: float
    strong_similarity: float


@dataclass(frozen=True)
class _Candidate:
    passage_rank: int
    sentence_index: int
    sentence: str
    similarity: float
    coverage: float  # of the question's terms, by the passage around the sentence
    sentence_coverage: float  # of the question's terms, by the sentence itself

    @property
    def relevance(self) -> float:
        """Meaning and wording together: ranks sentences that passed the support tests."""
        return self.similarity + self.sentence_coverage


class ExtractiveAnswerer:
    def __init__(
        self,
        encoder: CachedEncoder,
        prompts: PromptLibrary,
        policy: AnswerPolicy,
    ) -> None:
        self._encoder = encoder
        self._prompts = prompts
        self._policy = policy

    @property
    def passages_read(self) -> int:
        return self._policy.passages

    def answer(self, question: str, standalone: str, retrieval: Retrieval) -> Answer:
        passages = retrieval.passages[: self._policy.passages]
        candidates = self._candidates(standalone, passages, retrieval.query_vector)
        chosen = self._choose(candidates, fact_kind(standalone))
        if not chosen:
            return self.no_answer(question, retrieval.passages)
        return _compose(question, chosen, passages)

    def stream(self, question: str, standalone: str, retrieval: Retrieval) -> Iterator[AnswerEvent]:
        """The answer as events; it exists whole before its first piece."""
        yield from answer_events(self.answer(question, standalone, retrieval))

    def _candidates(
        self, question: str, passages: list[Passage], query_vector: list[float]
    ) -> list[_Candidate]:
        found = [
            (rank, index, sentence)
            for rank, passage in enumerate(passages)
            for index, sentence in enumerate(split_sentences(passage.chunk.text))
        ]
        unique = list({sentence: (r, i, sentence) for r, i, sentence in reversed(found)}.values())
        if not unique:
            return []
        sentences = [sentence for _, _, sentence in unique]
        vectors = self._encoder.encode(sentences)
        similarities = vectors @ np.asarray(query_vector, dtype=vectors.dtype)
        contexts = [passage_context(passage) for passage in passages]
        coverages = term_coverages(subject_terms(question), contexts + sentences)
        split = len(contexts)
        passage_coverages, sentence_coverages = coverages[:split], coverages[split:]
        return [
            _Candidate(rank, index, sentence, float(similarity), passage_coverages[rank], own)
            for (rank, index, sentence), similarity, own in zip(
                unique, similarities, sentence_coverages, strict=True
            )
        ]

    def _choose(self, candidates: list[_Candidate], kind: FactKind) -> list[_Candidate]:
        policy = self._policy
        supported = sorted(
            (c for c in candidates if _supports(c, policy, kind)), key=lambda c: -c.relevance
        )
        if not supported:
            return []
        floor = supported[0].relevance * _RELATIVE_RELEVANCE
        return [c for c in supported if c.relevance >= floor][: policy.max_sentences]

    def no_answer(self, question: str, passages: list[Passage]) -> Answer:
        """The documents do not hold the answer: say so and offer the closest passages."""
        closest = passages[:_CLOSEST_PASSAGES]
        return Answer(
            question=question,
            answer=self._prompts.render("no_answer"),
            answered=False,
            citations=[citation_of(n, p) for n, p in enumerate(closest, start=1)],
        )


def _supports(candidate: _Candidate, policy: AnswerPolicy, kind: FactKind) -> bool:
    if not states_fact_kind(candidate.sentence, kind):
        return False
    if candidate.sentence_coverage >= _ALL_TERMS and candidate.similarity > 0:
        # The sentence names everything the question is about; a long sentence on several
        # topics can still sit far from the question in embedding space.
        return True
    return candidate.similarity >= policy.min_similarity and (
        candidate.coverage >= policy.min_coverage
        or candidate.similarity >= policy.strong_similarity
    )


def passage_context(passage: Passage) -> str:
    """The passage with its title and section: what the words of an answer may come from."""
    chunk = passage.chunk
    return " ".join(filter(None, [chunk.title, chunk.section, chunk.text]))


def _compose(question: str, chosen: list[_Candidate], passages: list[Passage]) -> Answer:
    """Sentences in reading order (document, position), each followed by its marker."""
    first_rank_of_doc: dict[str, int] = {}
    for c in sorted(chosen, key=lambda c: c.passage_rank):
        first_rank_of_doc.setdefault(passages[c.passage_rank].chunk.doc_id, c.passage_rank)

    def reading_order(c: _Candidate) -> tuple[int, int, int]:
        chunk = passages[c.passage_rank].chunk
        return first_rank_of_doc[chunk.doc_id], chunk.position, c.sentence_index

    numbers: dict[int, int] = {}
    parts: list[str] = []
    for c in sorted(chosen, key=reading_order):
        n = numbers.setdefault(c.passage_rank, len(numbers) + 1)
        parts.append(f"{c.sentence} [{n}]")
    citations = [citation_of(n, passages[rank]) for rank, n in numbers.items()]
    return Answer(question=question, answer=" ".join(parts), answered=True, citations=citations)


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
    )


def answer_events(answer: Answer) -> Iterator[AnswerEvent]:
    """A finished answer as the events of a stream: citations, pieces of text, the whole."""
    yield CitationsEvent(answered=answer.answered, citations=answer.citations)
    for piece in text_pieces(answer.answer):
        yield DeltaEvent(text=piece)
    yield DoneEvent(answer=answer)


def text_pieces(text: str, words: int = 4) -> Iterator[str]:
    """The text a few words at a time, spaces kept, so the pieces join back to the text."""
    tokens = re.findall(r"\S+\s*", text)
    for start in range(0, len(tokens), words):
        yield "".join(tokens[start : start + words])
