"""Question sets for `summit eval qa`: a JSON Lines file (question, answers: key facts any
of which counts, answerable, optional kind, answer_docs and date), or a QA folder whose
corpus is ingested into a store of its own: news in the RealTimeQA layout (questions.jsonl
with question, answer, answer_docs, answerable, date; corpus.jsonl), or SQuAD 2.0
(questions.jsonl with question, answers, is_impossible; paragraphs.jsonl), asked over all
its paragraphs at once."""

import datetime
from pathlib import Path

from pydantic import BaseModel, ValidationError

from server.errors import SummitError
from server.evaluation.jsonl import json_objects

NEWS_QUESTIONS, NEWS_CORPUS = "questions.jsonl", "corpus.jsonl"
SQUAD_PARAGRAPHS = "paragraphs.jsonl"
UNSCORED = "unscored"  # a question whose refusal says nothing (its answer may be elsewhere)


class QAItem(BaseModel):
    question: str
    answers: list[str] = []
    answerable: bool
    kind: str | None = None
    answer_docs: list[str] = []  # documents holding the answer: left out for rejection
    date: datetime.date | None = None  # when it was asked: answered as of that day


def dataset_corpus(folder: Path) -> Path:
    """The documents a QA folder brings: a SQuAD folder's paragraphs, a news folder's
    articles."""
    squad = folder / SQUAD_PARAGRAPHS
    return squad if squad.exists() else folder / NEWS_CORPUS


def load_question_set(path: Path) -> list[QAItem]:
    """A JSON Lines question set, or the questions of a news or SQuAD QA folder."""
    if path.is_dir():
        records = json_objects(path / NEWS_QUESTIONS, "question set", "question")
        read = _squad_item if dataset_corpus(path).name == SQUAD_PARAGRAPHS else _news_item
        return [read(record) for _, record in records]
    items = []
    for number, record in json_objects(path, "question set", "question"):
        try:
            items.append(QAItem.model_validate(record))
        except ValidationError as exc:
            raise SummitError(f"{path}:{number}: not a question record.") from exc
    return items


def _news_item(record: dict[str, object]) -> QAItem:
    docs = record.get("answer_docs") or []
    if "question" not in record or "answer" not in record or not isinstance(docs, list):
        raise SummitError("A news question lacks its question, answer or answer_docs.")
    answerable = bool(record.get("answerable"))
    return QAItem(
        question=str(record["question"]),
        answers=[str(record["answer"])],
        answerable=answerable,
        # Not found in the articles, yet perhaps stated in other words: not scored.
        kind="news" if answerable else UNSCORED,
        answer_docs=[str(d) for d in docs],
        date=_date_of(record.get("date")),
    )


def _squad_item(record: dict[str, object]) -> QAItem:
    answers = record.get("answers") or []
    if "question" not in record or not isinstance(answers, list):
        raise SummitError("A SQuAD question lacks its question or its answers.")
    impossible = bool(record.get("is_impossible")) or not answers
    # No answer_docs: an answer's words often stand in other paragraphs of its article too.
    return QAItem(
        question=str(record["question"]),
        answers=[] if impossible else [str(a) for a in answers],
        answerable=not impossible,
    )


def _date_of(value: object) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError as exc:
        raise SummitError(f"A question's date is not a date: {value!r}.") from exc
