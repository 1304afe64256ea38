"""What route functions share: the assistant of the running app and request checks."""

import ipaddress
import threading
from collections.abc import Sequence

from fastapi import HTTPException, Request

from server.assistant import Assistant, clean_question
from server.contract import Turn
from server.ingest_jobs import IngestJobs
from server.live import LiveAssistant
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


_JOBS = threading.Lock()


def jobs(request: Request) -> IngestJobs:
    """The app's background ingests, made on first use (the ingest's parts load then)."""
    state = request.app.state
    with _JOBS:
        if state.jobs is None:
            from server.components.documents import ingest_jobs

            config = settings(request)
            state.jobs = ingest_jobs(config, config.upload_max_waiting_jobs)
    return state.jobs  # type: ignore[no-any-return]


def check_writer(request: Request) -> None:
    """Who may change the documents: with an API key set, whoever sent it (the key was
    checked before the route); with none, only a client on this machine, so a server opened
    to the network without a key takes no uploads from anyone."""
    key = settings(request).api_key
    if key is not None and key.get_secret_value():
        return
    host = request.client.host if request.client else ""
    try:
        local = ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    if not local:
        raise HTTPException(
            403,
            "Documents are added and removed only from this machine unless an API key is "
            "set (SUMMIT_API_KEY).",
        )
