"""`summit chat`'s loop: a failed answer is one line, and the conversation goes on."""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from server.cli.chat import run_chat
from server.contract import StoreStatus
from server.errors import InvalidInputError
from server.prompts import PromptLibrary
from server.settings import Settings


class FailingAssistant:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def status(self) -> StoreStatus:
        return StoreStatus(documents=1, chunks=4, store="s", embedding_model="m")

    def refresh(self) -> bool:
        return False

    def ask_stream(self, question: str, history: Any) -> Any:
        self.asked.append(question)
        if question == "bad":
            raise InvalidInputError("The question is too long.")
        raise RuntimeError("a library broke")


def test_a_failed_answer_is_one_line_and_the_next_question_is_asked(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    assistant = FailingAssistant()
    lines: Iterator[str] = iter(["boom", "bad", "again"])

    def typed(prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr("builtins.input", typed)
    console = Console(file=io.StringIO(), width=200)
    prompts = PromptLibrary(settings.answers.prompts_dir)
    run_chat(lambda: assistant, 0, prompts, console)  # type: ignore[arg-type,return-value]

    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert assistant.asked == ["boom", "bad", "again"]
    assert shown.count("error: unexpected RuntimeError: a library broke") == 2
    assert "error: The question is too long." in shown
    assert "Traceback" not in shown
