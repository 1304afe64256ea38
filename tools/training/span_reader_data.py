"""The span reader's training and validation examples, from SQuAD folders in the layout of
../shared/data (paragraphs.jsonl, questions.jsonl).

Split by article, never by question (questions of one article are alike). An example is a
question, a passage and the answer's characters in it, or None when the passage does not
answer (the reader then points at [CLS]). Besides the questions as written (SQuAD 1.1's
answerable ones, SQuAD 2.0's half unanswerable) two hard negatives teach refusal:

- another paragraph of the question's article, the one sharing most words with the question
  (same subject, same names, no answer);
- the question's own paragraph with the sentences holding the answer taken out (all the
  word overlap, none of the answer).

Either is kept only when no gold answer text occurs in it.
"""

import random
import re
from dataclasses import dataclass
from pathlib import Path

from server.base.sentences import split_sentences
from server.evaluation.jsonl import json_objects

_WORD = re.compile(r"\w+")
_STOP = frozenset(
    "a an the of in on at to for by with from and or is are was were be been what which who "
    "whom whose when where why how did do does that this these those it its as into than".split()
)


@dataclass(frozen=True)
class Paragraph:
    id: str
    article: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    paragraph: Paragraph
    answers: list[str]  # empty: unanswerable


@dataclass(frozen=True)
class Example:
    question: str
    passage: str
    answer: tuple[int, int] | None  # characters of the answer in the passage; None: no answer
    source: str  # "written", "other paragraph", "answer removed"


def _records(path: Path) -> list[dict[str, object]]:
    return [record for _, record in json_objects(path, "SQuAD file", "SQuAD")]


def load_folder(folder: Path) -> list[Question]:
    paragraphs = {
        str(r["_id"]): Paragraph(str(r["_id"]), str(r["title"]), str(r["text"]))
        for r in _records(folder / "paragraphs.jsonl")
    }
    questions = []
    for record in _records(folder / "questions.jsonl"):
        answers = [] if record.get("is_impossible") else list(record.get("answers") or [])  # type: ignore[call-overload]
        questions.append(
            Question(
                str(record["id"]),
                str(record["question"]),
                paragraphs[str(record["gold_paragraph_id"])],
                [str(a) for a in answers],
            )
        )
    return questions


def split_articles(questions: list[Question], held: int, seed: int) -> tuple[set[str], set[str]]:
    """(training articles, validation articles), by a seeded shuffle of their titles."""
    titles = sorted({q.paragraph.article for q in questions})
    random.Random(seed).shuffle(titles)
    return set(titles[held:]), set(titles[:held])


def _overlap(question: str, text: str) -> int:
    wanted = {w for w in _WORD.findall(question.lower()) if w not in _STOP}
    return len(wanted & set(_WORD.findall(text.lower())))


def written(question: Question) -> Example | None:
    """The question with its own paragraph; None when the answer is not found in it."""
    if not question.answers:
        return Example(question.text, question.paragraph.text, None, "written")
    start = question.paragraph.text.find(question.answers[0])
    if start < 0:
        return None
    span = (start, start + len(question.answers[0]))
    return Example(question.text, question.paragraph.text, span, "written")


def other_paragraph(question: Question, article: list[Paragraph]) -> Example | None:
    """The paragraph of the same article that shares most words with the question."""
    others = [
        p
        for p in article
        if p.id != question.paragraph.id and not any(a in p.text for a in question.answers)
    ]
    if not others:
        return None
    best = max(others, key=lambda p: (_overlap(question.text, p.text), p.id))
    return Example(question.text, best.text, None, "other paragraph")


def answer_removed(question: Question) -> Example | None:
    """The question's own paragraph without the sentences that hold an answer."""
    if not question.answers:
        return None
    sentences = split_sentences(question.paragraph.text)
    kept = [s for s in sentences if not any(a in s for a in question.answers)]
    text = " ".join(kept)
    if len(kept) < 2 or len(kept) == len(sentences) or any(a in text for a in question.answers):
        return None
    return Example(question.text, text, None, "answer removed")


def training_examples(
    questions: list[Question],
    other_share: float,
    removed_share: float,
    seed: int,
) -> list[Example]:
    """Every question as written, and for a seeded share of them each hard negative."""
    rng = random.Random(seed)
    articles: dict[str, list[Paragraph]] = {}
    for q in questions:
        group = articles.setdefault(q.paragraph.article, [])
        if q.paragraph not in group:
            group.append(q.paragraph)
    examples = []
    for q in questions:
        examples.append(written(q))
        if rng.random() < other_share:
            examples.append(other_paragraph(q, articles[q.paragraph.article]))
        if rng.random() < removed_share:
            examples.append(answer_removed(q))
    return [e for e in examples if e is not None]
