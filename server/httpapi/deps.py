"""What route functions share: the assistant of the running app and request checks."""

import ipaddress
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from server.assistant import Assistant
from server.live import LiveAssistant
from server.settings import Settings

if TYPE_CHECKING:
    from server.components.intake import DocumentIntake


def runtime(request: Request) -> LiveAssistant:
    return request.app.state.runtime  # type: ignore[no-any-return]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def assistant(request: Request) -> Assistant:
    """The loaded assistant, or NotReadyError (a 503) while it starts."""
    return runtime(request).assistant


def assistant_for(request: Request, question: str) -> Assistant:
    """The assistant to answer `question`: a bad question is a 422 from the core's check
    whether or not the assistant has loaded; then a 503 while it starts."""
    return runtime(request).for_question(question)


def intake(request: Request) -> "DocumentIntake":
    """Where the app's uploads and URLs go in: its one queue of background ingests."""
    return request.app.state.intake()  # type: ignore[no-any-return]


def check_writer(request: Request) -> None:
    """Who may change the documents: with an API key set, whoever sent it (the key was
    checked before the route); with none, only a client on this machine, so a server opened
    to the network without a key takes no uploads from anyone."""
    key = settings(request).http.api_key
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
