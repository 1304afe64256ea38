"""Strict answer scoring: what counts as right, wrong and refused, the intervals, the
risk-coverage table, negative rejection, and the news QA folder layout."""

import datetime
import json
from pathlib import Path

import pytest

from server.contract import Answer, Citation
from server.errors import SummitError
from server.evaluation.answer_quality import Asker, evaluate_qa, holds_fact, is_right, wilson
from server.evaluation.question_sets import UNSCORED, QAItem, dataset_corpus, load_question_set
from server.retrieval.dates import Scope


def answer(text: str, passage: str, confidence: float = 0.9, answered: bool = True) -> Answer:
    citation = Citation(
        n=1,
        doc_id="d",
        chunk_id="c",
        source="s",
        title=None,
        section=None,
        page=None,
        text=passage,
        score=1.0,
    )
    return Answer(
        question="q", answer=text, answered=answered, citations=[citation], confidence=confidence
    )


def test_right_needs_the_fact_in_the_answer_and_in_a_cited_passage() -> None:
    assert is_right(answer("It was held in Nara. [1]", "The summit was in Nara."), ["Nara"])
    assert not is_right(answer("It was held in Nara.", "The summit was in Nara."), ["Nara"])
    assert not is_right(answer("It was held in Nara. [1]", "The summit was held."), ["Nara"])
    assert not is_right(answer("It was held in Osaka. [1]", "Nara and Osaka."), ["Nara"])


def test_a_fact_is_matched_as_whole_words_whatever_the_case_and_accents() -> None:
    assert holds_fact("The Pokémon company", "pokemon")
    assert holds_fact("Lee\u2019s party", "Lee's")
    assert not holds_fact("Leeds United", "Lee")


def test_wilson_interval_is_sound_at_the_edges() -> None:
    rate = wilson(0, 10)
    assert rate.share == 0 and rate.low == 0 and 0.25 < rate.high < 0.35
    full = wilson(10, 10)
    assert full.high == 1 and 0.65 < full.low < 0.75
    assert wilson(0, 0).total == 0


def test_answers_are_scored_at_the_served_threshold_and_along_the_risk_coverage_table() -> None:
    replies = {
        "a": answer("Nara [1]", "Nara", confidence=0.9),
        "b": answer("Osaka [1]", "Osaka", confidence=0.6),  # wrong
        "c": answer("Kyoto [1]", "Kyoto", confidence=0.2),  # right, but under the threshold
    }
    items = [
        QAItem(question="a", answers=["Nara"], answerable=True),
        QAItem(question="b", answers=["Nara"], answerable=True),
        QAItem(question="c", answers=["Kyoto"], answerable=True),
    ]
    report = evaluate_qa(Asker(ask=lambda q, _: replies[q], threshold=0.5), items)
    assert (report.right.count, report.wrong, report.refused) == (1, 1, 1)
    assert report.precision.count == 1 and report.precision.total == 2
    everything = report.risk_coverage[0]
    assert (everything.answered, everything.right) == (3, 2)
    assert report.risk_coverage[-1].answered == 1 and report.risk_coverage[-1].precision == 1


def test_with_the_answer_documents_left_out_a_refusal_is_right() -> None:
    def ask(question: str, scope: Scope) -> Answer:
        if scope.exclude:
            assert scope.exclude == {"doc-1"}
            return answer("Nagoya [1]", "Nagoya", confidence=0.1)
        return answer("Nara [1]", "Nara", confidence=0.9)

    item = QAItem(question="q", answers=["Nara"], answerable=True, answer_docs=["doc-1"])
    report = evaluate_qa(Asker(ask=ask, threshold=0.5), [item])
    assert report.negative_rejection is not None
    assert report.negative_rejection.count == 1 and report.right.count == 1


def test_a_news_folder_is_read_with_unanswerable_questions_left_unscored(tmp_path: Path) -> None:
    questions = [
        {
            "question": "Who won?",
            "answer": "Madonna",
            "answer_docs": ["x"],
            "answerable": True,
            "date": "2023-01-19",
        },
        {"question": "Who lost?", "answer": "Nobody", "answer_docs": [], "answerable": False},
    ]
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    items = load_question_set(tmp_path)
    assert items[0].answers == ["Madonna"] and items[0].answer_docs == ["x"]
    assert items[0].date == datetime.date(2023, 1, 19) and items[1].date is None
    assert items[1].kind == UNSCORED
    report = evaluate_qa(
        Asker(ask=lambda q, _: answer("Madonna [1]", "Madonna"), threshold=0.5), items
    )
    assert report.answerable == 1 and report.refusal is None


def test_a_squad_folder_is_read_with_its_unanswerable_questions_scored(tmp_path: Path) -> None:
    questions = [
        {"question": "Where?", "answers": ["Nara", "Nara, Japan"], "is_impossible": False},
        {"question": "Who?", "answers": [], "is_impossible": True},
    ]
    (tmp_path / "questions.jsonl").write_text("\n".join(json.dumps(q) for q in questions))
    (tmp_path / "paragraphs.jsonl").write_text('{"_id": "A#0", "title": "A", "text": "t"}\n')
    items = load_question_set(tmp_path)
    assert dataset_corpus(tmp_path) == tmp_path / "paragraphs.jsonl"
    assert [(i.answers, i.answerable, i.answer_docs) for i in items] == [
        (["Nara", "Nara, Japan"], True, []),
        ([], False, []),
    ]
    report = evaluate_qa(Asker(ask=lambda q, _: answer("Nara [1]", "Nara"), threshold=0.5), items)
    assert report.right.count == 1 and report.refusal is not None and report.refusal.count == 0


def test_a_dated_question_is_asked_as_of_its_date_unless_told_otherwise() -> None:
    seen: list[datetime.date | None] = []

    def ask(question: str, scope: Scope) -> Answer:
        seen.append(scope.as_of)
        return answer("Nara [1]", "Nara")

    item = QAItem(question="q", answers=["Nara"], answerable=True, date=datetime.date(2024, 3, 1))
    evaluate_qa(Asker(ask=ask, threshold=0.5), [item])
    evaluate_qa(Asker(ask=ask, threshold=0.5), [item], dated=False)
    assert seen == [datetime.date(2024, 3, 1), None]


def test_a_broken_question_set_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"question": "q", "answerable": true}\nnot json\n')
    with pytest.raises(SummitError, match=r"set\.jsonl:2"):
        load_question_set(path)
