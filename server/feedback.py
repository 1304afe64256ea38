"""What people said of the answers: each answer a front door gave, kept with its question and
citations, and the 👍/👎 given to it, in SQLite beside the store (it survives a restart).

An answer is kept when it is given, so a rating that arrives later (after a restart too)
finds its question and citations; answers nobody rated are forgotten after `keep_days`.
"""

import datetime
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from server.contract import Answer
from server.errors import SummitError

Rating = Literal["up", "down"]
RATINGS: tuple[Rating, ...] = ("up", "down")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    place TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user TEXT NOT NULL,
    rating TEXT NOT NULL,
    rated_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""


class FeedbackStoreError(SummitError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"The feedback file {path} cannot be used: {reason}.")


@dataclass(frozen=True)
class Rated:
    """One rating of one answer."""

    answer_id: str
    rating: Rating
    user: str
    rated_at: str  # ISO 8601, UTC
    asked_at: str
    place: str  # where it was asked (a Slack channel and thread)
    answer: Answer


class FeedbackStore:
    def __init__(self, path: Path, keep_days: int = 30) -> None:
        self._path = path
        self._keep_days = keep_days
        self._lock = threading.Lock()
        self._ready = False

    @property
    def path(self) -> Path:
        return self._path

    def keep(self, answer: Answer, place: str) -> str:
        """Keeps an answer just given; returns the id its rating buttons carry."""
        answer_id = uuid.uuid4().hex
        with self._connection() as db:
            db.execute(
                "INSERT INTO answers (id, asked_at, place, answer) VALUES (?, ?, ?, ?)",
                (answer_id, _now(), place, answer.model_dump_json()),
            )
        return answer_id

    def rate(self, answer_id: str, rating: Rating, user: str) -> bool:
        """Records (or changes) `user`'s rating; False if the answer is not kept (too old,
        or not one of ours)."""
        with self._connection() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                return False
            db.execute(
                "INSERT INTO ratings (answer_id, user, rating, rated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (answer_id, user)"
                " DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at",
                (answer_id, user, rating, _now()),
            )
        return True

    def ratings(self, rating: Rating | None = None) -> list[Rated]:
        """Every rating (or those of one kind), newest first."""
        if not self._path.exists():
            return []
        query = (
            "SELECT r.answer_id, r.rating, r.user, r.rated_at, a.asked_at, a.place, a.answer"
            " FROM ratings r JOIN answers a ON a.id = r.answer_id"
            + (" WHERE r.rating = ?" if rating else "")
            + " ORDER BY r.rated_at DESC, r.answer_id"
        )
        with self._connection() as db:
            rows = db.execute(query, (rating,) if rating else ()).fetchall()
        return [_rated(row) for row in rows]

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            with self._lock, closing(sqlite3.connect(self._path, timeout=30)) as db, db:
                if not self._ready:
                    self._prepare(db)
                yield db
        except sqlite3.DatabaseError as exc:
            raise FeedbackStoreError(self._path, str(exc)) from exc
        except OSError as exc:
            raise FeedbackStoreError(self._path, exc.strerror or str(exc)) from exc

    def _prepare(self, db: sqlite3.Connection) -> None:
        db.executescript(_SCHEMA)
        cutoff = _now(days_ago=self._keep_days)
        db.execute(
            "DELETE FROM answers WHERE asked_at < ? AND id NOT IN (SELECT answer_id FROM ratings)",
            (cutoff,),
        )
        self._ready = True


def _rated(row: tuple[str, ...]) -> Rated:
    answer_id, rating, user, rated_at, asked_at, place, answer = row
    return Rated(
        answer_id,
        cast(Rating, rating),
        user,
        rated_at,
        asked_at,
        place,
        Answer.model_validate_json(answer),
    )


def _now(days_ago: int = 0) -> str:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=days_ago)
    return moment.isoformat(timespec="seconds")


def as_record(rated: Rated) -> dict[str, object]:
    """A rating as JSON: what was asked, answered and cited, and what was said of it."""
    answer = rated.answer
    return {
        "answer_id": rated.answer_id,
        "rating": rated.rating,
        "user": rated.user,
        "rated_at": rated.rated_at,
        "asked_at": rated.asked_at,
        "place": rated.place,
        "question": answer.question,
        "answer": answer.answer,
        "answered": answer.answered,
        "citations": [
            {"n": c.n, "source": c.source, "title": c.title, "text": c.text}
            for c in answer.citations
        ],
    }


def as_question(rated: Rated) -> dict[str, object]:
    """A rating as a question-set line (server/evaluation/question_sets.py), rating beside it.

    A 👍 on an answer with a short answer gives that answer; otherwise `answers` is left
    empty for a person to fill in from the documents (never from the system's own answer).
    A 👍 on "the documents do not say" is an unanswerable question; anything marked wrong
    is taken as answerable until a person says otherwise."""
    answer = rated.answer
    confirmed = rated.rating == "up"
    answers = [answer.short_answer] if confirmed and answer.answered and answer.short_answer else []
    return {
        "question": answer.question,
        "answers": answers,
        "answerable": not (confirmed and not answer.answered),
        "kind": "feedback",  # no `date`: Slack answers from every document, not as of a day
        **{key: value for key, value in as_record(rated).items() if key != "question"},
    }
