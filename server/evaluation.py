"""Answer quality over a question set: one JSON object a line with question, answers
(key facts, any of which counts), answerable and optionally kind."""

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, ValidationError

from server.assistant import Assistant
from server.errors import SummitError
from server.models import Answer


class QAItem(BaseModel):
    question: str
    answers: list[str] = []
    answerable: bool
    kind: str | None = None


class QAOutcome(BaseModel):
    question: str
    kind: str
    answerable: bool
    answered: bool
    fact_in_answer: bool
    fact_cited: bool
    seconds: float


class QAReport(BaseModel):
    questions: int
    answerable: int
    answered_with_fact: float  # share of answerable questions
    answered_with_cited_fact: float  # answer and a cited passage both hold a key fact
    over_refusal: float  # share of answerable questions refused
    refusal: float  # share of unanswerable questions refused
    refusal_by_kind: dict[str, float]  # share of unanswerable questions refused, per kind
    latency_p50_ms: float
    latency_p95_ms: float
    outcomes: list[QAOutcome]


def load_question_set(path: Path) -> list[QAItem]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SummitError(f"Cannot read the question set {path}.") from exc
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            items.append(QAItem.model_validate(json.loads(line)))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise SummitError(f"{path}:{number}: not a question record.") from exc
    return items


def evaluate_qa(assistant: Assistant, items: list[QAItem]) -> QAReport:
    outcomes = [_outcome(assistant, item) for item in items]
    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    kinds = sorted({o.kind for o in unanswerable})
    return QAReport(
        questions=len(outcomes),
        answerable=len(answerable),
        answered_with_fact=_share(answerable, lambda o: o.answered and o.fact_in_answer),
        answered_with_cited_fact=_share(answerable, lambda o: o.answered and o.fact_cited),
        over_refusal=_share(answerable, lambda o: not o.answered),
        refusal=_share(unanswerable, lambda o: not o.answered),
        refusal_by_kind={
            kind: _share([o for o in unanswerable if o.kind == kind], lambda o: not o.answered)
            for kind in kinds
        },
        latency_p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        latency_p95_ms=round(_percentile(latencies, 0.95), 1),
        outcomes=outcomes,
    )


def _outcome(assistant: Assistant, item: QAItem) -> QAOutcome:
    started = time.perf_counter()
    answer = assistant.ask(item.question)
    seconds = time.perf_counter() - started
    return QAOutcome(
        question=item.question,
        kind=item.kind or ("answerable" if item.answerable else "unanswerable"),
        answerable=item.answerable,
        answered=answer.answered,
        fact_in_answer=_holds_fact(answer.answer, item.answers),
        fact_cited=_fact_cited(answer, item.answers),
        seconds=round(seconds, 4),
    )


def _holds_fact(text: str, facts: list[str]) -> bool:
    lowered = text.lower()
    return any(fact.lower() in lowered for fact in facts)


def _fact_cited(answer: Answer, facts: list[str]) -> bool:
    """Some key fact is both in the answer and in a passage the answer cites."""
    cited = [c for c in answer.citations if f"[{c.n}]" in answer.answer]
    return any(
        fact.lower() in answer.answer.lower() and _holds_fact(c.text, [fact])
        for fact in facts
        for c in cited
    )


def _share(outcomes: list[QAOutcome], test: Callable[[QAOutcome], bool]) -> float:
    if not outcomes:
        return 0.0
    passed = sum(1 for o in outcomes if test(o))
    return round(passed / len(outcomes), 3)


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]
