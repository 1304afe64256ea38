"""The feedback store (server/feedback.py), the corpus's latest headlines
(server/retrieval/headlines.py) and `summit feedback` on an empty or bad request."""

import datetime
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli.base import app
from server.contract import Answer, Citation
from server.feedback import FeedbackStore, FeedbackStoreError, as_question
from server.retrieval.headlines import clean_headline


def answer(question: str = "Where was the summit held?", answered: bool = True) -> Answer:
    citation = Citation(
        n=1,
        doc_id="d",
        chunk_id="c1",
        source="/srv/a.md",
        title="Talks",
        section=None,
        page=None,
        text="The summit was held in Nara.",
        score=0.5,
    )
    text = "In Nara. [1]" if answered else "The documents do not answer this question."
    return Answer(
        question=question,
        answer=text,
        answered=answered,
        citations=[citation],
        short_answer="Nara" if answered else None,
    )


def test_a_rating_is_kept_with_its_answer_and_can_be_changed(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    first = store.keep(answer(), "slack:T1/D1/1.0")
    second = store.keep(answer("Who met?"), "slack:T1/D1/2.0")
    assert store.rate(first, "down", "U1") and store.rate(second, "up", "U1")
    assert store.rate(first, "up", "U2")
    assert store.rate(first, "up", "U1")  # U1 changed their mind: one rating each
    reopened = FeedbackStore(tmp_path / "f.sqlite3")
    ratings = reopened.ratings()
    assert sorted((r.answer.question, r.user, r.rating) for r in ratings) == [
        ("Where was the summit held?", "U1", "up"),
        ("Where was the summit held?", "U2", "up"),
        ("Who met?", "U1", "up"),
    ]
    assert reopened.ratings("down") == []
    assert ratings[0].answer.citations[0].text == "The summit was held in Nara."


def test_an_unknown_answer_cannot_be_rated(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    assert not store.rate("not-an-id", "up", "U1")
    assert store.ratings() == []


def test_unrated_answers_are_forgotten_after_the_keeping_days(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    store = FeedbackStore(path, keep_days=30)
    old, rated = store.keep(answer(), "p"), store.keep(answer("Who met?"), "p")
    store.rate(rated, "down", "U1")
    long_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=31)).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE answers SET asked_at = ?", (long_ago,))
    reopened = FeedbackStore(path, keep_days=30)
    assert not reopened.rate(old, "up", "U1")  # forgotten
    assert [r.answer.question for r in reopened.ratings()] == ["Who met?"]  # rated: kept


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    path.write_text("not sqlite " * 200)
    with pytest.raises(FeedbackStoreError, match="cannot be used"):
        FeedbackStore(path).keep(answer(), "p")


def test_an_export_line_is_a_question_to_fill_in(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    wrong, right, refused = (store.keep(answer(), "p") for _ in range(3))
    refusal = store.keep(answer(answered=False), "p")
    store.rate(wrong, "down", "U1")
    store.rate(right, "up", "U1")
    store.rate(refusal, "up", "U1")
    lines = {r.answer_id: as_question(r) for r in store.ratings()}
    assert lines[wrong]["answers"] == [] and lines[wrong]["answerable"] is True
    assert lines[right]["answers"] == ["Nara"]
    assert lines[refusal]["answerable"] is False  # "not in the documents" confirmed
    assert refused not in lines


def test_summit_feedback_on_a_new_store_says_none_yet(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["feedback", "--store", str(tmp_path / "store")])
    assert result.exit_code == 0 and "No answer has been rated yet" in result.output
    listed = CliRunner().invoke(app, ["feedback", "--json", "--store", str(tmp_path / "s")])
    assert listed.exit_code == 0 and json.loads(listed.output) == []


def test_summit_feedback_refuses_an_unknown_rating_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["feedback", "--rating", "meh", "--store", str(tmp_path)])
    assert result.exit_code != 0
    assert "--rating must be up or down" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("title", "headline"),
    [
        (
            "Hertz settles lawsuits over false arrests | CNN Business",
            "Hertz settles lawsuits over false arrests",
        ),
        (
            "Free COVID tests will soon be available to order from the ...",
            "Free COVID tests will soon be available to order from the",
        ),
        ("  Youth   forum held in Fukuoka…", "Youth forum held in Fukuoka"),
        ("Talks end \u2013 no deal yet \u2014", "Talks end \u2013 no deal yet"),
        ("| ...", ""),
    ],
)
def test_a_headline_loses_its_outlet_suffix_and_ellipsis(title: str, headline: str) -> None:
    assert clean_headline(title) == headline
