"""The extractive answerer: the span reader points at the words that answer, and the answer
quotes the sentence that holds them.

Top to bottom: the best-ranked passages are read with the question (server/answers/span_reader.py);
the spans it points at are merged into candidate answers (one per distinct answer text, every
passage that states it kept); the best candidate answers when it beats "no answer here" by the
calibrated threshold, and the answer is then its span (`short_answer`) and the sentence holding
it, cited, with the sentences of other documents that state it too. Asked how many, when or
who, sources that state different values are shown side by side. Otherwise the answer says
plainly that the documents do not hold it and offers the closest passages.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from server.answers.candidates import Decision, ReadPassage, candidates_of, normalised, rounded
from server.answers.composing import compose
from server.answers.kinds import answer_type
from server.answers.pieces import answer_events, citation_of
from server.answers.question import content_terms
from server.answers.span_reader import PassageReader, shipped_reader
from server.contract import Answer, AnswerEvent
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval

_CLOSEST_PASSAGES = 3  # offered when the documents do not hold the answer


@dataclass(frozen=True)
class AnswerPolicy:
    passages: int  # best-ranked passages read
    max_sentences: int  # most sentences quoted
    threshold: float | None = None  # None: the threshold calibrated with the reader


class ExtractiveAnswerer:
    def __init__(
        self,
        prompts: PromptLibrary,
        policy: AnswerPolicy,
        reader: Callable[[], PassageReader] = shipped_reader,
    ) -> None:
        self._prompts = prompts
        self._policy = policy
        self._reader = reader

    @property
    def passages_read(self) -> int:
        return self._policy.passages

    @property
    def threshold(self) -> float:
        configured = self._policy.threshold
        return self._reader().threshold if configured is None else configured

    def answer(self, question: str, standalone: str, retrieval: Retrieval) -> Answer:
        if not content_terms(standalone):  # only stop words: it asks nothing to look for
            return self.no_answer(question, retrieval.passages)
        passages = [ReadPassage.of(p) for p in distinct_passages(retrieval.passages)]
        passages = passages[: self._policy.passages]
        # The kind of answer is what the latest question asks for; the reader reads the
        # question joined to the conversation (`standalone`), which names its subject.
        decision = self.decide(standalone, passages, question)
        if not decision.answered:
            return self.no_answer(question, retrieval.passages, decision)
        return compose(question, decision, passages, self._policy.max_sentences)

    def stream(self, question: str, standalone: str, retrieval: Retrieval) -> Iterator[AnswerEvent]:
        """The answer as events; it exists whole before its first piece."""
        yield from answer_events(self.answer(question, standalone, retrieval))

    def decide(self, question: str, passages: list[ReadPassage], latest: str) -> Decision:
        """Every passage read; the spans merged into candidates, best first."""
        readings = self._reader().read(question, [p.text for p in passages]) if passages else []
        return Decision(answer_type(latest), candidates_of(readings, passages), self.threshold)

    def no_answer(
        self, question: str, passages: list[Passage], decision: Decision | None = None
    ) -> Answer:
        """The documents do not hold the answer: say so and offer the closest passages."""
        closest = passages[:_CLOSEST_PASSAGES]
        confidence = decision.confidence if decision and decision.candidates else None
        return Answer(
            question=question,
            answer=self._prompts.render("no_answer"),
            answered=False,
            citations=[citation_of(n, p) for n, p in enumerate(closest, start=1)],
            confidence=None if confidence is None else rounded(confidence),
        )


def distinct_passages(passages: list[Passage]) -> list[Passage]:
    """The passages without repeats of one text (the same file under two paths, the same
    wire story in two outlets): each is read and cited once, from its best-ranked copy."""
    seen: set[str] = set()
    kept = []
    for passage in passages:
        key = normalised(passage.chunk.text)
        if key not in seen:
            seen.add(key)
            kept.append(passage)
    return kept
