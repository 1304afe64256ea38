"""The command line: parses input, calls the core, formats output. Nothing else."""

import datetime
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from server import render
from server.errors import SummitError
from server.settings import Settings

# Plain (click-style) help: typer's rich panels print a type for every option, <bool> for
# flags and for --help itself. -h is inherited by every subcommand's context.
app = typer.Typer(
    help="Ask questions of summit documents; every answer cites its passages.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
eval_app = typer.Typer(
    help="Measure retrieval and answer quality.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(eval_app, name="eval")
model_app = typer.Typer(
    help="Prepare the embedding model.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(model_app, name="model")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")


def _store_option(help_text: str) -> Any:  # typer.Option's own return type
    """--store FOLDER; each command says which store it means."""
    return typer.Option("--store", metavar="FOLDER", help=help_text)


StoreOption = Annotated[
    Path | None, _store_option("Store folder (default: SUMMIT_STORE or a per-user folder).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"summit-assistant {_version()}")
        raise typer.Exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("summit-assistant")
    except PackageNotFoundError:  # run from a source tree that was never pip-installed
        return "(version unknown: not installed)"


@app.callback()
def _options(
    _: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    pass


def _settings(store: Path | None) -> Settings:
    """Settings from SUMMIT_* variables and .env; a bad value is one line, not a traceback."""
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
        render.print_error(err, f"invalid setting ({problems})")
        raise typer.Exit(2) from None
    return settings.model_copy(update={"store": store}) if store is not None else settings


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(map(str, location))}: {message}" if location else message


@contextmanager
def _user_errors() -> Iterator[None]:
    """A SummitError becomes one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except SummitError as exc:
        render.print_error(err, str(exc))
        raise typer.Exit(1) from None


def _notify(message: str) -> None:
    render.print_text(err, message)


def _lines(argument: str | None) -> Iterator[str]:
    """The argument, or one item a line from stdin (blank lines skipped)."""
    if argument is not None:
        yield argument
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(metavar="PATH", help="Files or folders (default: the bundled corpus)."),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove documents whose files are gone.")
    ] = False,
    sentence_vectors: Annotated[
        bool,
        typer.Option(
            "--sentence-vectors",
            help="Also store every chunk's sentence vectors, so answers never encode "
            "passages (SUMMIT_INGEST_SENTENCE_VECTORS).",
        ),
    ] = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load, chunk, embed and store documents.

    Reads .md, .txt, .html, .pdf and .jsonl files; folders are walked recursively."""
    from server.components import ingest as run_ingest

    settings = _settings(store)
    if sentence_vectors:
        settings = settings.model_copy(update={"ingest_sentence_vectors": True})
    with _user_errors():
        targets = paths or [settings.corpus_dir]
        if as_json or not err.is_terminal:
            report = run_ingest(settings, targets, prune)
        else:
            with _progress_bar() as callback:
                report = run_ingest(settings, targets, prune, callback)
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        render.print_ingest_report(out, report)


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    labels = {
        "read": "Reading files",
        "embed": "Embedding passages",
        "sentences": "Embedding sentences",
    }
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as progress:
        tasks: dict[str, object] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
            progress.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

        yield update


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
    from server.document_dates import Scope

    settings = _settings(store)
    assistant = _load(lambda: build_assistant(settings, _notify), question, settings)
    scope = Scope(as_of=as_of.date() if as_of else None)

    def show(line: str) -> None:
        if as_json:
            print(assistant.ask(line, scope=scope).model_dump_json())
        else:
            render.print_answer_stream(out, assistant.ask_stream(line, scope=scope))
            out.print()

    _each_input(question, show)


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
    from server.components import build_assistant

    settings = _settings(store)
    assistant = _load(lambda: build_assistant(settings, _notify), query, settings)

    def show(line: str) -> None:
        response = assistant.search(line, k)
        if as_json:
            print(response.model_dump_json())
        else:
            render.print_search(out, response)

    _each_input(query, show)


def _load(build: Callable[[], T], argument: str | None, settings: Settings) -> T:
    """The assistant; a bad question given as argument is refused before the model loads."""
    from server.assistant import clean_question

    with _user_errors():
        if argument is not None:
            clean_question(argument, settings.max_question_chars)
        return build()


def _each_input(argument: str | None, handle: Callable[[str], None]) -> None:
    """handle(argument), or handle each line of stdin; one bad line does not stop the
    others, and any failure makes the exit status 1."""
    failures = 0
    for line in _lines(argument):
        try:
            handle(line)
        except SummitError as exc:
            render.print_error(err, str(exc))
            failures += 1
    if failures:
        raise typer.Exit(1)


@app.command()
def chat(store: StoreOption = None) -> None:
    """An interactive conversation.

    Follow-up questions use what was asked before."""
    from server.chat_repl import run_chat
    from server.components import build_assistant

    settings = _settings(store)
    with _user_errors():
        run_chat(lambda: build_assistant(settings, _notify), settings, out)


@app.command()
def status(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """What the store holds (loads no model)."""
    from server.components import store_status

    with _user_errors():
        result = store_status(_settings(store))
    if as_json:
        print(result.model_dump_json())
    else:
        render.print_status(out, result)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS", help="Address to listen on (SUMMIT_HOST sets the default)."
        ),
    ] = Settings.model_fields["host"].default,
    port: Annotated[
        int,
        typer.Option(min=1, max=65535, metavar="PORT", help="Port (SUMMIT_PORT sets the default)."),
    ] = Settings.model_fields["port"].default,
    store: StoreOption = None,
) -> None:
    """Run the HTTP API and the chat page.

    The page is at http://HOST:PORT/, the API's documentation at /docs."""
    import uvicorn

    from server.httpapi.app import create_app
    from server.httpapi.protocol import json_error_protocol

    given = {"host": host, "port": port}
    settings = _settings(store).model_copy(
        update={name: value for name, value in given.items() if _typed(ctx, name)}
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        http=json_error_protocol(),
    )


def _typed(ctx: typer.Context, option: str) -> bool:
    """Whether the option was given on the command line. Its default, shown in --help, is
    the built-in one; SUMMIT_* variables and .env come in through Settings and must win
    over it, but not over a value typed (even one equal to the default)."""
    source = ctx.get_parameter_source(option)
    return source is not None and source.name == "COMMANDLINE"


@app.command()
def slack(store: StoreOption = None) -> None:
    """Run the Slack bot over Socket Mode.

    Needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN."""
    from server.components import build_assistant
    from server.slack.socket_mode import run_socket_mode

    settings = _settings(store)
    with _user_errors():
        run_socket_mode(settings, lambda: build_assistant(settings, _notify))


@model_app.command("export")
def model_export(as_json: JsonOption = False) -> None:
    """Export the embedding model to ONNX now.

    Otherwise done on first need; every later process loads the export without importing
    torch."""
    from server.components import export_embedding_model

    with _user_errors():
        export = export_embedding_model(_settings(None))
    if as_json:
        print(json.dumps({"folder": str(export.folder), "sha256": export.sha256}))
    else:
        render.print_text(out, f"ONNX export: {export.folder} (sha256 {export.sha256[:16]}…)")


@eval_app.command("qa")
def eval_qa(
    question_set: Annotated[
        Path,
        typer.Argument(
            metavar="QUESTIONS",
            help="JSON Lines (question, answers, answerable), or a news QA folder "
            "(questions.jsonl and corpus.jsonl, the RealTimeQA layout).",
        ),
    ],
    store: Annotated[
        Path | None,
        _store_option(
            "The store to answer from (a news QA folder's default: its own store beside "
            "SUMMIT_STORE)."
        ),
    ] = None,
    undated: Annotated[
        bool,
        typer.Option(
            "--undated", help="Ask every question as of no date, even where the set dates it."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Answer every question of a set and score the answers strictly.

    Right, wrong, refused, precision with 95 % intervals, the risk-coverage table and, for
    news, the refusals with the answer's articles left out."""
    from server.components import eval_store_of, evaluate_answers

    settings = _settings(store)
    if question_set.is_dir() and store is None:
        settings = settings.model_copy(update={"store": eval_store_of(settings, question_set)})
    with _user_errors():
        report = evaluate_answers(settings, question_set, _notify, dated=not undated)
    if as_json:
        print(report.model_dump_json())
    else:
        render.print_qa_report(out, report)


@eval_app.command("retrieval", short_help="Score dense, BM25 and hybrid retrieval.")
def eval_retrieval(
    dataset: Annotated[
        Path,
        typer.Argument(
            metavar="DATASET", help="BEIR layout: corpus.jsonl, queries.jsonl, qrels/test.tsv."
        ),
    ],
    store: Annotated[
        Path | None, _store_option("The dataset's own store (default: beside SUMMIT_STORE).")
    ] = None,
    depth: Annotated[
        int, typer.Option("--depth", min=100, metavar="N", help="Chunks taken from each retriever.")
    ] = 1000,
    whole_documents: Annotated[
        bool,
        typer.Option(
            "--whole-documents",
            help="Also score dense retrieval over whole documents cut at the model's length "
            "(the published figures' setting; embeds the corpus once more, then caches it).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score dense, BM25 and hybrid retrieval on a dataset: nDCG@10, Recall@100, MRR@10."""
    from server.components import eval_store_of, evaluate_retrieval

    settings = _settings(None)
    target = store or eval_store_of(settings, dataset)
    settings = settings.model_copy(update={"store": target, "collection": "beir"})
    with _user_errors():
        if as_json or not err.is_terminal:
            report = evaluate_retrieval(settings, dataset, depth, None, whole_documents)
        else:
            with _progress_bar() as callback:
                report = evaluate_retrieval(settings, dataset, depth, callback, whole_documents)
    if as_json:
        print(report.model_dump_json())
    else:
        render.print_retrieval_report(out, report)


def main() -> None:
    """The `summit` command. A failure that is not the user's (a bug, a library's own
    error) is one line too, naming its kind; SUMMIT_DEBUG=1 shows the traceback."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("SUMMIT_DEBUG"):
            raise
        render.print_error(
            err,
            f"unexpected {type(exc).__name__}: {exc} "
            "(SUMMIT_DEBUG=1 shows the traceback; please report it)",
        )
        sys.exit(1)
