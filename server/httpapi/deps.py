"""What route functions share: the assistant of the running app and request checks."""

from collections.abc import Sequence

from fastapi import Request

from server.assistant import Assistant, clean_question
from server.live import LiveAssistant
from server.models import Turn
from server.settings import Settings


def runtime(request: Request) -> LiveAssistant:
    return request.app.state.runtime  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def assistant(request: Request) -> Assistant:
    """The loaded assistant, or NotReadyError (a 503) while it starts."""
    return runtime(request).assistant


def check_question(request: Request, question: str, history: Sequence[Turn] = ()) -> None:
    """Refuse a bad question before any answering starts (so streams never begin with an
    error). A long history is not an error: the core keeps its latest turns."""
    clean_question(question, settings(request).max_question_chars)
