"""The extractive answerer: quotes the retrieved sentences that answer the question.

Each sentence of the passages read is ranked by learned weights over what tells an answer
from its neighbours (server/answers/features.py, server/answers/model.py); the best-ranked
few are read by the trained reader (server/answers/reader.py) and tagged with their named
entities, and a second set of weights over all of it decides. The best sentence
answers when its probability reaches the threshold calibrated for precision; otherwise the
answer says plainly that the documents do not hold it and offers the closest passages.
When the question asks for a name, place, number or date that a quoted sentence states, the
answer leads with it (`short_answer`).
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from server.answers.features import Candidate, candidates, with_entities, with_readings
from server.answers.kinds import (
    AnswerType,
    SentenceTagger,
    answer_type,
    entity_tagger,
    tagger_installed,
    wanted_labels,
)
from server.answers.model import AnswerModels, LogisticModel, shipped_models
from server.answers.pieces import answer_events, citation_of
from server.answers.reader import SentenceReader, shipped_reader
from server.models import Answer, AnswerEvent
from server.plaintext import with_short_answer
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval
from server.storage.embeddings import CachedEncoder

_CLOSEST_PASSAGES = 3  # offered when the documents do not hold the answer
DECIDED_CANDIDATES = 5  # best-ranked candidates read (reader, entities) before deciding
RELATIVE_PROBABILITY = 0.8  # further sentences must be this likely next to the best one


@dataclass(frozen=True)
class AnswerPolicy:
    passages: int
    max_sentences: int
    threshold: float | None = None  # None: the threshold shipped with the learned model
    read_sentences: int = DECIDED_CANDIDATES  # best-ranked sentences read before deciding


@dataclass(frozen=True)
class Scored:
    candidate: Candidate
    probability: float


@dataclass(frozen=True)
class Decision:
    """The candidates scored by the model that decides, best first, and its threshold."""

    kind: AnswerType
    ranked: list[Scored]
    threshold: float


class ExtractiveAnswerer:
    def __init__(
        self,
        encoder: CachedEncoder,
        prompts: PromptLibrary,
        policy: AnswerPolicy,
        models: AnswerModels | None = None,
        tagger: Callable[[], SentenceTagger | None] = entity_tagger,
        reader: Callable[[], SentenceReader] = shipped_reader,
    ) -> None:
        self._encoder = encoder
        self._prompts = prompts
        self._policy = policy
        self._models = models or shipped_models()
        self._tagger = tagger
        self._reader = reader

    @property
    def passages_read(self) -> int:
        return self._policy.passages

    def answer(self, question: str, standalone: str, retrieval: Retrieval) -> Answer:
        passages = distinct_passages(retrieval.passages[: self._policy.passages])
        # The kind of answer is what the latest question asks for ("What analysis will be
        # done on them?" after "Where were the remains found?" asks for no place).
        decision = self.decide(standalone, replace(retrieval, passages=passages), question)
        # Compared as reported (`confidence`), so an evaluation that moves the threshold
        # over reported confidences gives exactly the answers served.
        if not decision.ranked or round(decision.ranked[0].probability, 4) < decision.threshold:
            return self.no_answer(question, retrieval.passages, decision)
        return _compose(question, decision, passages, self._policy.max_sentences)

    def stream(self, question: str, standalone: str, retrieval: Retrieval) -> Iterator[AnswerEvent]:
        """The answer as events; it exists whole before its first piece."""
        yield from answer_events(self.answer(question, standalone, retrieval))

    def decide(self, question: str, retrieval: Retrieval, latest: str | None = None) -> Decision:
        """Every candidate sentence ranked; the best few read by the reader and rescored
        with their entities when the tagger is installed. `latest` is the question as
        asked, when `question` joins it to the conversation."""
        kind = answer_type(latest or question)
        found = candidates(
            question,
            kind,
            retrieval.passages,
            retrieval.query_vector,
            retrieval.term_weights,
            self._encoder,
        )
        ranked = _scored(self._models.rank, found)
        tagger = self._tagger()
        if tagger is None or not ranked:
            return Decision(kind, ranked, self._threshold(self._models.rank))
        best = [s.candidate for s in ranked[: self._policy.read_sentences]]
        top = with_entities(question, kind, best, tagger, retrieval.passages)
        top = with_readings(question, top, self._reader(), retrieval.passages)
        return Decision(
            kind, _scored(self._models.answer, top), self._threshold(self._models.answer)
        )

    def _threshold(self, model: LogisticModel) -> float:
        return model.threshold if self._policy.threshold is None else self._policy.threshold

    def no_answer(
        self, question: str, passages: list[Passage], decision: Decision | None = None
    ) -> Answer:
        """The documents do not hold the answer: say so and offer the closest passages."""
        closest = passages[:_CLOSEST_PASSAGES]
        best = decision.ranked[0].probability if decision and decision.ranked else None
        return Answer(
            question=question,
            answer=self._prompts.render("no_answer"),
            answered=False,
            citations=[citation_of(n, p) for n, p in enumerate(closest, start=1)],
            confidence=_rounded(best),
        )


def served_threshold(configured: float | None, models: AnswerModels | None = None) -> float:
    """The threshold answers are given from: the configured one, else the learned model's
    (the entity model's when the tagger is installed)."""
    if configured is not None:
        return configured
    models = models or shipped_models()
    return models.answer.threshold if tagger_installed() else models.rank.threshold


def _scored(model: LogisticModel, found: list[Candidate]) -> list[Scored]:
    scored = [Scored(c, model.probability(c.features)) for c in found]
    return sorted(scored, key=lambda s: -s.probability)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)  # as `confidence` reports it


def distinct_passages(passages: list[Passage]) -> list[Passage]:
    """The passages without repeats of one text (the same file under two paths, the same
    wire story in two outlets): each is quoted and cited once, from its best-ranked copy."""
    seen: set[str] = set()
    kept = []
    for passage in passages:
        key = " ".join(re.sub(r"[^\w\s]", " ", passage.chunk.text.lower()).split())
        if key not in seen:
            seen.add(key)
            kept.append(passage)
    return kept


def _compose(question: str, decision: Decision, passages: list[Passage], most: int) -> Answer:
    """The best sentence and those nearly as likely, in reading order (document, position),
    each followed by its marker; led by the short answer when one is stated."""
    best = decision.ranked[0].probability
    chosen = [s for s in decision.ranked if s.probability >= best * RELATIVE_PROBABILITY][:most]
    labels = wanted_labels(decision.kind, question)
    chosen += _disagreeing(decision, chosen, labels, question, passages)
    numbers = _marker_numbers([s.candidate for s in chosen], passages)
    quoted = [
        f"{c.sentence} [{numbers[c.passage_rank]}]"
        for c in sorted((s.candidate for s in chosen), key=_reading_order(passages, numbers))
    ]
    short = short_answer(chosen, labels, question, numbers, passages)
    text = " ".join(quoted)
    return Answer(
        question=question,
        answer=with_short_answer(short, text),
        answered=True,
        citations=[citation_of(n, passages[rank]) for rank, n in numbers.items()],
        short_answer=short,
        confidence=_rounded(best),
    )


def _marker_numbers(chosen: list[Candidate], passages: list[Passage]) -> dict[int, int]:
    """[n] of each passage quoted, numbered in reading order."""
    numbers: dict[int, int] = {}
    for c in sorted(chosen, key=_reading_order(passages, {})):
        numbers.setdefault(c.passage_rank, len(numbers) + 1)
    return numbers


def _reading_order(
    passages: list[Passage], numbers: dict[int, int]
) -> Callable[[Candidate], tuple[int, int, int]]:
    first_rank_of_doc: dict[str, int] = {}
    for rank, passage in enumerate(passages):
        first_rank_of_doc.setdefault(passage.chunk.doc_id, rank)

    def key(c: Candidate) -> tuple[int, int, int]:
        chunk = passages[c.passage_rank].chunk
        return first_rank_of_doc[chunk.doc_id], chunk.position, c.sentence_index

    return key


def _stated(scored: Scored, labels: frozenset[str], question: str) -> str | None:
    """The first entity of the kind asked for that the sentence states and the question
    does not name."""
    lowered = question.lower()
    for entity in scored.candidate.entities:
        if entity.label in labels and entity.text.lower() not in lowered:
            return entity.text
    return None


def _disagreeing(
    decision: Decision,
    chosen: list[Scored],
    labels: frozenset[str],
    question: str,
    passages: list[Passage],
) -> list[Scored]:
    """For a number or a date: a sentence nearly as likely as the best, of another
    document, that states a different value, though the limit of sentences left it out; so
    the reader sees both values instead of one picked silently."""
    if decision.kind not in (AnswerType.NUMBER, AnswerType.DATE) or not chosen:
        return []
    floor = chosen[0].probability * RELATIVE_PROBABILITY
    values = {_stated(s, labels, question) for s in chosen} - {None}
    docs = {passages[s.candidate.passage_rank].chunk.doc_id for s in chosen}
    for scored in decision.ranked:
        if scored in chosen or scored.probability < floor:
            continue
        value = _stated(scored, labels, question)
        doc = passages[scored.candidate.passage_rank].chunk.doc_id
        if value is not None and values and value not in values and doc not in docs:
            return [scored]
    return []


def short_answer(
    chosen: list[Scored],
    labels: frozenset[str],
    question: str,
    numbers: dict[int, int],
    passages: list[Passage],
) -> str | None:
    """The name, place, number or date asked for, as the quoted sentences state it; when
    sentences of different documents state different values, each with its marker."""
    stated: dict[str, list[int]] = {}
    for scored in chosen:
        value = _stated(scored, labels, question)
        if value is not None:
            stated.setdefault(value, []).append(numbers[scored.candidate.passage_rank])
    if not stated:
        return None
    if len(stated) == 1:
        return next(iter(stated))
    docs = {passages[rank].chunk.doc_id for rank in numbers}
    if len(docs) == 1:
        return next(iter(stated))  # one document: its best sentence's value
    return "; ".join(f"{value} [{min(ns)}]" for value, ns in stated.items())
