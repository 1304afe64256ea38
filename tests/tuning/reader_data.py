"""The reader's training and validation data, from SQuAD 2.0 in the layout of
../shared/data/squad_v2_train_split (paragraphs.jsonl, questions.jsonl).

Split by article, never by question (questions of one article are alike): a seeded
shuffle of the article titles puts `validation` of them aside. Each question becomes
windows of its gold paragraph (server/answers/reader_inputs.py), labelled:

- answerable: the sentence holding the answer's first occurrence is the positive (with the
  answer's place in it, for the span head); the `negatives` sentences of the paragraph
  sharing most words with the question, and one sentence of another paragraph of the same
  article, are negatives; other sentences that happen to hold the answer's words are left
  out rather than called wrong;
- unanswerable (written to look answerable from the paragraph): the sentences sharing most
  words with it, and one of another paragraph, all negatives. They teach refusal.
"""

import random
import re
from dataclasses import dataclass
from pathlib import Path

from server.answers.reader_inputs import Window, windows_of
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
    sentences: list[str]
    windows: list[Window]


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    paragraph: Paragraph
    answers: list[str]  # empty: unanswerable
    answer_index: int | None  # the sentence holding the answer's first occurrence


@dataclass(frozen=True)
class Row:
    question: str
    window: Window
    label: float
    span: tuple[int, int] | None  # characters of the answer in window.sentence


def _records(path: Path) -> list[dict[str, object]]:
    return [record for _, record in json_objects(path, "SQuAD file", "SQuAD")]


def load_paragraphs(folder: Path) -> dict[str, Paragraph]:
    paragraphs = {}
    for record in _records(folder / "paragraphs.jsonl"):
        pid, title, text = str(record["_id"]), str(record["title"]), str(record["text"])
        sentences = split_sentences(text)
        paragraphs[pid] = Paragraph(pid, title, sentences, windows_of(sentences, title))
    return paragraphs


def load_questions(folder: Path, paragraphs: dict[str, Paragraph]) -> list[Question]:
    questions = []
    for record in _records(folder / "questions.jsonl"):
        paragraph = paragraphs[str(record["gold_paragraph_id"])]
        answers = [str(a) for a in record.get("answers") or []]  # type: ignore[attr-defined]
        index = None
        if answers and not record.get("is_impossible"):
            index = next((i for i, s in enumerate(paragraph.sentences) if answers[0] in s), None)
        questions.append(
            Question(str(record["id"]), str(record["question"]), paragraph, answers, index)
        )
    return questions


def split_articles(articles: list[str], validation: int, seed: int) -> tuple[set[str], set[str]]:
    """(training articles, validation articles), by a seeded shuffle of their titles."""
    shuffled = sorted(set(articles))
    random.Random(seed).shuffle(shuffled)
    return set(shuffled[validation:]), set(shuffled[:validation])


def by_article(paragraphs: dict[str, Paragraph]) -> dict[str, list[Paragraph]]:
    grouped: dict[str, list[Paragraph]] = {}
    for paragraph in paragraphs.values():
        grouped.setdefault(paragraph.article, []).append(paragraph)
    return grouped


def _overlap(question: str, sentence: str) -> int:
    wanted = {w for w in _WORD.findall(question.lower()) if w not in _STOP}
    return len(wanted & set(_WORD.findall(sentence.lower())))


def training_rows(
    questions: list[Question], by_article: dict[str, list[Paragraph]], negatives: int, seed: int
) -> list[Row]:
    rng = random.Random(seed)
    rows: list[Row] = []
    for q in questions:
        answerable = bool(q.answers)
        if answerable and q.answer_index is None:
            continue  # the answer crosses a sentence boundary: no sentence to point at
        paragraph = q.paragraph
        if answerable:
            assert q.answer_index is not None
            sentence = paragraph.sentences[q.answer_index]
            start = sentence.find(q.answers[0])
            span = (start, start + len(q.answers[0]))
            rows.append(Row(q.text, paragraph.windows[q.answer_index], 1.0, span))
        others = [
            i
            for i, s in enumerate(paragraph.sentences)
            if not any(answer in s for answer in q.answers)
        ]
        others.sort(key=lambda i: (-_overlap(q.text, paragraph.sentences[i]), i))
        rows += [Row(q.text, paragraph.windows[i], 0.0, None) for i in others[:negatives]]
        elsewhere = [p for p in by_article[paragraph.article] if p.id != paragraph.id]
        if elsewhere:
            window = rng.choice(rng.choice(elsewhere).windows)
            if not any(answer in window.sentence for answer in q.answers):
                rows.append(Row(q.text, window, 0.0, None))
    return rows
