"""`summit ask`, `summit search`, `summit chat`: questions of the documents."""

import datetime
from typing import Annotated

import typer

from server.cli import render
from server.cli.base import (
    JsonOption,
    StoreOption,
    app,
    each_input,
    load_settings,
    notify,
    out,
    user_errors,
)


@app.command()
def ask(
    question: Annotated[
        str | None,
        typer.Argument(metavar="QUESTION", help="The question; without it, one a line from stdin."),
    ] = None,
    store: StoreOption = None,
    as_of: Annotated[
        datetime.datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Answer as of this day: from the documents published in the two weeks "
            "before it (and those without a date).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a question with cited passages.

    Without a question, answers one a line from stdin (JSON Lines with --json)."""
    from server.components import build_assistant
    from server.live import OnDemand
    from server.retrieval.dates import Scope

    settings = load_settings(store)
    limit = settings.answers.max_question_chars
    assistant = OnDemand(lambda: build_assistant(settings, notify), limit)
    scope = Scope(as_of=as_of.date() if as_of else None)

    def show(line: str) -> None:
        answering = assistant.for_question(line)
        if as_json:
            print(answering.ask(line, scope=scope).model_dump_json())
        else:
            render.print_answer_stream(out, answering.ask_stream(line, scope=scope))
            out.print()

    each_input(question, show)


@app.command()
def search(
    query: Annotated[
        str | None,
        typer.Argument(metavar="QUERY", help="The query; without it, one a line from stdin."),
    ] = None,
    k: Annotated[
        int, typer.Option("--k", min=1, max=100, metavar="N", help="Passages to return.")
    ] = 10,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The passages that best match a query, best first.

    Hybrid retrieval: dense vectors and BM25, fused."""
    from server.components import build_searcher
    from server.live import OnDemand

    settings = load_settings(store)
    limit = settings.answers.max_question_chars
    searcher = OnDemand(lambda: build_searcher(settings, notify), limit)

    def show(line: str) -> None:
        response = searcher.for_question(line).search(line, k)
        if as_json:
            print(response.model_dump_json())
        else:
            render.print_search(out, response)

    each_input(query, show)


@app.command()
def chat(store: StoreOption = None) -> None:
    """An interactive conversation.

    Follow-up questions use what was asked before."""
    from server.cli.chat import run_chat
    from server.components import build_assistant
    from server.prompts import PromptLibrary

    settings = load_settings(store)
    prompts = PromptLibrary(settings.answers.prompts_dir)
    refresh = settings.storage.refresh_seconds
    with user_errors():
        run_chat(lambda: build_assistant(settings, notify), refresh, prompts, out)
