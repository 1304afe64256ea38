"""Answer quality over a question set, scored strictly.

The question sets are read by server/evaluation/question_sets.py.

Strict scoring: an answer is right when it is answered, names a key fact and cites a passage
that holds it; wrong when answered otherwise; refused when `answered` is false. Each question
is answered once with every sentence allowed to answer (threshold 0), keeping the answer's
confidence: an answer at a threshold is the same answer when its confidence reaches the
threshold and a refusal otherwise, so one run gives the served figures and the whole
risk-coverage table. Questions with `answer_docs` are also asked with those documents left
out, where the right reply is a refusal (negative rejection, as in RGB: Chen et al. 2024).
"""

import math
import re
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from server.contract import Answer
from server.evaluation.question_sets import UNSCORED, QAItem
from server.retrieval.dates import Scope

_Z95 = 1.959964  # the normal quantile of a two-sided 95 % interval
_COVERAGE_STEPS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class QAOutcome(BaseModel):
    question: str
    kind: str
    answerable: bool
    answered: bool  # at the served threshold
    right: bool  # answered (at any threshold) naming a key fact that a cited passage holds
    confidence: float | None
    answer: str
    rejected_without_answer_docs: bool | None = None  # refused with answer_docs left out
    seconds: float


class Rate(BaseModel):
    count: int
    total: int
    share: float
    low: float  # the 95 % Wilson interval
    high: float


class RiskCoverageRow(BaseModel):
    threshold: float
    answered: int
    right: int
    coverage: float  # answered / answerable
    precision: float  # right / answered


class QAReport(BaseModel):
    questions: int
    answerable: int
    threshold: float
    right: Rate  # of the answerable questions
    precision: Rate  # right / answered
    wrong: int
    refused: int
    refusal: Rate | None  # of the unanswerable questions
    refusal_by_kind: dict[str, Rate]
    negative_rejection: Rate | None  # refused with the answer's documents left out
    risk_coverage: list[RiskCoverageRow]
    latency_p50_ms: float
    latency_p95_ms: float
    outcomes: list[QAOutcome]


@dataclass(frozen=True)
class Asker:
    """How an evaluation reaches the assistant: ask(question, scope) answering at
    threshold 0, and the threshold that is served."""

    ask: Callable[[str, Scope], Answer]
    threshold: float


def evaluate_qa(
    asker: Asker, items: list[QAItem], rejection: bool = True, dated: bool = True
) -> QAReport:
    """With `dated`, a question that has a date is answered as of that day."""
    outcomes = [_outcome(asker, item, rejection, dated) for item in items]
    scored = [o for o in outcomes if o.kind != UNSCORED]
    answerable = [o for o in scored if o.answerable]
    unanswerable = [o for o in scored if not o.answerable]
    answered = [o for o in answerable if o.answered]
    right = [o for o in answered if o.right]
    rejected = [o for o in answerable if o.rejected_without_answer_docs is not None]
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    kinds = sorted({o.kind for o in unanswerable})
    return QAReport(
        questions=len(outcomes),
        answerable=len(answerable),
        threshold=asker.threshold,
        right=wilson(len(right), len(answerable)),
        precision=wilson(len(right), len(answered)),
        wrong=len(answered) - len(right),
        refused=len(answerable) - len(answered),
        refusal=_refusal(unanswerable),
        refusal_by_kind={
            kind: wilson(*_refused_of([o for o in unanswerable if o.kind == kind]))
            for kind in kinds
        },
        negative_rejection=(
            wilson(sum(1 for o in rejected if o.rejected_without_answer_docs), len(rejected))
            if rejected
            else None
        ),
        risk_coverage=risk_coverage(answerable),
        latency_p50_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        latency_p95_ms=round(_percentile(latencies, 0.95), 1),
        outcomes=outcomes,
    )


def _outcome(asker: Asker, item: QAItem, rejection: bool, dated: bool) -> QAOutcome:
    as_of = item.date if dated else None
    started = time.perf_counter()
    answer = asker.ask(item.question, Scope(as_of=as_of))
    seconds = time.perf_counter() - started
    rejected = None
    if rejection and item.answerable and item.answer_docs:
        without = asker.ask(item.question, Scope(frozenset(item.answer_docs), as_of))
        rejected = not _answered_at(without, asker.threshold)
    return QAOutcome(
        question=item.question,
        kind=item.kind or ("answerable" if item.answerable else "unanswerable"),
        answerable=item.answerable,
        answered=_answered_at(answer, asker.threshold),
        right=answer.answered and is_right(answer, item.answers),
        confidence=answer.confidence,
        answer=answer.answer,
        rejected_without_answer_docs=rejected,
        seconds=round(seconds, 4),
    )


def _answered_at(answer: Answer, threshold: float) -> bool:
    if answer.confidence is None:  # a language model's answer: as it was given
        return answer.answered
    return answer.answered and answer.confidence >= threshold


def is_right(answer: Answer, facts: list[str]) -> bool:
    """Some key fact is named by the answer and held by a passage the answer cites."""
    named = f"{answer.short_answer or ''} {answer.answer}"  # the short answer shown, the text
    cited = [c.text for c in answer.citations if f"[{c.n}]" in named]
    return any(
        holds_fact(named, fact) and any(holds_fact(text, fact) for text in cited) for fact in facts
    )


def holds_fact(text: str, fact: str) -> bool:
    """The fact's words, as words, in the text (case, accents and quote styles aside)."""
    wanted = normalised(fact)
    pattern = rf"(?<!\w){re.escape(wanted)}(?!\w)"
    return bool(wanted) and re.search(pattern, normalised(text)) is not None


def normalised(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return " ".join(plain.replace("\u201d", '"').split())


def _refusal(unanswerable: list[QAOutcome]) -> Rate | None:
    return wilson(*_refused_of(unanswerable)) if unanswerable else None


def _refused_of(outcomes: list[QAOutcome]) -> tuple[int, int]:
    return sum(1 for o in outcomes if not o.answered), len(outcomes)


def risk_coverage(answerable: list[QAOutcome]) -> list[RiskCoverageRow]:
    """Precision at each answer rate: the confidence thresholds that answer a given share
    of the answerable questions."""
    confident = sorted(
        (o for o in answerable if o.confidence is not None), key=lambda o: -(o.confidence or 0)
    )
    rows = []
    for step in _COVERAGE_STEPS:
        answered = confident[: max(1, math.ceil((1 - step) * len(confident)))]
        if not answered:
            continue
        right = sum(1 for o in answered if o.right)
        rows.append(
            RiskCoverageRow(
                threshold=round(answered[-1].confidence or 0.0, 4),
                answered=len(answered),
                right=right,
                coverage=round(len(answered) / len(answerable), 3),
                precision=round(right / len(answered), 3),
            )
        )
    return rows


def wilson(count: int, total: int) -> Rate:
    """The share with its 95 % Wilson score interval (sound for small counts and 0 or 1)."""
    if total == 0:
        return Rate(count=0, total=0, share=0.0, low=0.0, high=0.0)
    p = count / total
    z2 = _Z95 * _Z95
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = _Z95 * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / (1 + z2 / total)
    return Rate(
        count=count,
        total=total,
        share=round(p, 3),
        low=round(max(0.0, centre - half), 3),
        high=round(min(1.0, centre + half), 3),
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(q * (len(sorted_values) - 1)))
    return sorted_values[index]
