"""`summit chat`: the interactive prompt of the command line."""

import contextlib

from rich.console import Console

from server import render
from server.assistant import Assistant
from server.errors import SummitError
from server.models import Turn
from server.prompts import PromptLibrary
from server.settings import Settings

_PROMPT = "you> "


def run_chat(assistant: Assistant, settings: Settings, console: Console) -> None:
    """Read questions until Ctrl-D or Ctrl-C; each answer joins the conversation."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    status = assistant.status()
    intro = PromptLibrary(settings.prompts_dir).render(
        "chat_intro", documents=status.documents, chunks=status.chunks
    )
    render.print_text(console, intro)
    history: list[Turn] = []
    while True:
        try:
            question = input(_PROMPT)
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if not question.strip():
            continue
        try:
            answer = render.print_answer_stream(console, assistant.ask_stream(question, history))
        except SummitError as exc:
            render.print_error(console, str(exc))
            continue
        console.print()
        history += [
            Turn(role="user", content=question),
            Turn(role="assistant", content=answer.answer),
        ]
