"""Turning a follow-up into a standalone question, by rule (no model needed)."""

import re
from collections.abc import Sequence

from server.models import Turn
from server.question import content_terms

_ELLIPTICAL_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what else|and what|why so|why not|"
    r"anything else|more on|tell me more)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(they|them|their|theirs|it|its|he|him|his|she|her|this|that|these|those|"
    r"there|the two|both)\b",
    re.IGNORECASE,
)
_SHORT = 2  # content terms: fewer than this and a question cannot stand alone


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question, joined to the previous question when it leans on the conversation.

    The previous question is itself made standalone first, so a chain of follow-ups keeps
    the subject of the question that started it.
    """
    previous: str | None = None
    for turn in history:
        if turn.role == "user" and turn.content.strip():
            previous = _join(previous, turn.content)
    return _join(previous, question)


def _join(previous: str | None, question: str) -> str:
    if previous is None or not leans_on_context(question):
        return question.strip()
    return f"{previous} {question.strip()}"


def leans_on_context(question: str) -> bool:
    return bool(
        _ELLIPTICAL_START.search(question)
        or _ANAPHORA.search(question)
        or len(content_terms(question)) < _SHORT
    )
