"""What route functions share: the assistant of the running app and request checks."""

from collections.abc import Sequence

from fastapi import Request

from server.assistant import Assistant, clean_question
from server.errors import SummitError
from server.httpapi.runtime import Runtime
from server.models import Turn
from server.settings import Settings


class TooMuchHistoryError(SummitError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The conversation history is too long: at most {limit} messages.")


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def assistant(request: Request) -> Assistant:
    """The loaded assistant, or NotReadyError (a 503) while it starts."""
    return runtime(request).assistant


def check_question(request: Request, question: str, history: Sequence[Turn] = ()) -> None:
    """Refuse bad input before any answering starts (so streams never begin with an error)."""
    limits = settings(request)
    clean_question(question, limits.max_question_chars)
    if len(history) > limits.max_history_turns:
        raise TooMuchHistoryError(limits.max_history_turns)
