"""`summit chat`: the interactive prompt of the command line."""

import contextlib
import os

from rich.console import Console

from server.cli import render
from server.contract import Turn
from server.errors import SummitError
from server.live import AssistantFactory, LiveAssistant, kept_current
from server.prompts import PromptLibrary

_PROMPT = "you> "


def run_chat(
    build_assistant: AssistantFactory,
    refresh_seconds: float,
    prompts: PromptLibrary,
    console: Console,
) -> None:
    """Read questions until Ctrl-D or Ctrl-C; each answer joins the conversation. The
    assistant is loaded first and kept current: what `summit ingest` adds meanwhile is
    answered within SUMMIT_REFRESH_SECONDS."""
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    live = kept_current(build_assistant, refresh_seconds)
    try:
        status = live.assistant.status()
        intro = prompts.render("chat_intro", documents=status.documents, chunks=status.chunks)
        render.print_text(console, intro)
        _converse(live, console)
    finally:
        live.stop()


def _converse(live: LiveAssistant, console: Console) -> None:
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
            stream = live.assistant.ask_stream(question, history)
            answer = render.print_answer_stream(console, stream)
        except SummitError as exc:
            render.print_error(console, str(exc))
            continue
        except Exception as exc:  # one failed answer does not end the conversation
            if os.environ.get("SUMMIT_DEBUG"):
                raise
            render.print_error(console, render.unexpected(exc))
            continue
        console.print()
        history += [
            Turn(role="user", content=question),
            Turn(role="assistant", content=answer.answer),
        ]
