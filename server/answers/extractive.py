"""The extractive answerer: quotes the retrieved sentences that answer the question.

Every sentence of the passages read is a candidate; cheap learned weights over meaning and
wording (server/answers/candidates.py, server/answers/preselection.py) pick the few worth
reading, and the trained reader (server/answers/reader.py) reads each with the question and
gives the probability that it answers, with the short answer's span inside it. The best
sentence answers when its probability reaches the threshold calibrated for precision;
otherwise the answer says plainly that the documents do not hold it and offers the closest
passages.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from server.answers.candidates import Candidate, candidates
from server.answers.composing import Scored, citation_of, compose
from server.answers.preselection import LogisticModel, shipped_preselection
from server.answers.question_kinds import answer_type
from server.answers.reader import SentenceReader
from server.answers.windows import Window
from server.models import Answer, AnswerEvent, CitationsEvent, DeltaEvent, DoneEvent
from server.prompts import PromptLibrary
from server.retrieval import Passage, Retrieval
from server.storage.embeddings import CachedEncoder

_CLOSEST_PASSAGES = 3  # offered when the documents do not hold the answer


@dataclass(frozen=True)
class AnswerPolicy:
    passages: int
    max_sentences: int
    threshold: float | None = None  # None: the threshold shipped with the reader
    read_sentences: int = 12  # candidates the reader reads, best preselected first


@dataclass(frozen=True)
class Decision:
    """The sentences the reader read, best first, and the threshold that decides."""

    ranked: list[Scored]
    threshold: float


class ExtractiveAnswerer:
    def __init__(
        self,
        encoder: CachedEncoder,
        prompts: PromptLibrary,
        policy: AnswerPolicy,
        reader: SentenceReader,
        preselection: LogisticModel | None = None,
    ) -> None:
        self._encoder = encoder
        self._prompts = prompts
        self._policy = policy
        self._reader = reader
        self._preselection = preselection or shipped_preselection()

    @property
    def passages_read(self) -> int:
        return self._policy.passages

    @property
    def threshold(self) -> float:
        """The probability from which the best sentence is given as the answer."""
        configured = self._policy.threshold
        return self._reader.threshold if configured is None else configured

    def answer(self, question: str, standalone: str, retrieval: Retrieval) -> Answer:
        passages = distinct_passages(retrieval.passages[: self._policy.passages])
        decision = self.decide(standalone, replace(retrieval, passages=passages), question)
        # Compared as reported (`confidence`), so an evaluation that moves the threshold
        # over reported confidences gives exactly the answers served.
        if not decision.ranked or round(decision.ranked[0].probability, 4) < decision.threshold:
            return self.no_answer(question, retrieval.passages, decision)
        return compose(question, decision.ranked, passages, self._policy.max_sentences)

    def stream(self, question: str, standalone: str, retrieval: Retrieval) -> Iterator[AnswerEvent]:
        """The answer as events; it exists whole before its first piece."""
        yield from answer_events(self.answer(question, standalone, retrieval))

    def decide(self, question: str, retrieval: Retrieval, latest: str | None = None) -> Decision:
        """The preselected candidates as the reader ranks them. `latest` is the question as
        asked, when `question` joins it to the conversation: it says what kind of answer is
        wanted ("What analysis will be done?" after "Where were they found?" asks no place)."""
        found = candidates(
            question,
            answer_type(latest or question),
            retrieval.passages,
            retrieval.query_vector,
            retrieval.term_weights,
            self._encoder,
        )
        preselected = sorted(found, key=lambda c: -self._preselection.probability(c.features))
        chosen = preselected[: self._policy.read_sentences]
        readings = self._reader.read(question, [window_of(c, retrieval.passages) for c in chosen])
        ranked = [
            Scored(c, r.probability, c.sentence[r.span[0] : r.span[1]] if r.span else None)
            for c, r in zip(chosen, readings, strict=True)
        ]
        ranked.sort(key=lambda s: -s.probability)
        return Decision(ranked, self.threshold)

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
            confidence=None if best is None else round(best, 4),
        )


def window_of(candidate: Candidate, passages: list[Passage]) -> Window:
    """The candidate as the reader reads it, with its document's title."""
    return Window(candidate.sentence, passages[candidate.passage_rank].chunk.title or "")


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
