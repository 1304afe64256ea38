"""The extractive answerer: quotes the retrieved sentences that answer the question.

A sentence may answer only if it is close in meaning to the question, the passage around
it contains most of what the question is about (or the meaning is very close), and it can
state the kind of fact asked for. When no sentence passes, the answer says plainly that the
documents do not hold it and offers the closest passages instead of guessing.
"""

from dataclasses import dataclass

import numpy as np

from ingest.sentences import split_sentences
from server.embeddings import CachedEncoder
from server.lexical import analyze
from server.models import Answer, Citation
from server.prompts import PromptLibrary
from server.question import FactKind, fact_kind, states_fact_kind, subject_terms
from server.retrieval import Passage, Retrieval

_CLOSEST_PASSAGES = 3  # offered when the documents do not hold the answer
_RELATIVE_RELEVANCE = 0.8  # further sentences must be this close to the best one
_MIN_PREFIX = 4  # shortest stem that may match by prefix
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
            return self._no_answer(question, retrieval.passages)
        return _compose(question, chosen, passages)

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
        vectors = self._encoder.encode([sentence for _, _, sentence in unique])
        similarities = vectors @ np.asarray(query_vector, dtype=vectors.dtype)
        terms = subject_terms(question)
        coverages = [_coverage(terms, _context(passage)) for passage in passages]
        return [
            _Candidate(
                rank,
                index,
                sentence,
                float(similarity),
                coverages[rank],
                _coverage(terms, sentence),
            )
            for (rank, index, sentence), similarity in zip(unique, similarities, strict=True)
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

    def _no_answer(self, question: str, passages: list[Passage]) -> Answer:
        closest = passages[:_CLOSEST_PASSAGES]
        return Answer(
            question=question,
            answer=self._prompts.render("no_answer"),
            answered=False,
            citations=[_citation(n, p) for n, p in enumerate(closest, start=1)],
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


def _context(passage: Passage) -> str:
    chunk = passage.chunk
    return " ".join(filter(None, [chunk.title, chunk.section, chunk.text]))


def _coverage(terms: dict[str, float], text: str) -> float:
    """Weighted share of the question's subject terms found in the text."""
    total = sum(terms.values())
    if not total:
        return 0.0
    present = set(analyze([text])[0])
    return sum(w for term, w in terms.items() if _matches(term, present)) / total


def _matches(term: str, present: set[str]) -> bool:
    """Exact stem match, or one stem extends the other (Japan / Japanese, Korea / Korean):
    the stemmer handles inflection, not derivation."""
    if term in present:
        return True
    return len(term) >= _MIN_PREFIX and any(
        len(other) >= _MIN_PREFIX and (other.startswith(term) or term.startswith(other))
        for other in present
    )


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
    citations = [_citation(n, passages[rank]) for rank, n in numbers.items()]
    return Answer(question=question, answer=" ".join(parts), answered=True, citations=citations)


def _citation(n: int, passage: Passage) -> Citation:
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
