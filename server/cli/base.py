"""What every command shares: the app, its consoles and options, settings and the
mapping of errors to one line on stderr."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from server.cli import render
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
documents_app = typer.Typer(
    help="List, show and remove the documents the store holds.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(documents_app, name="documents")
model_app = typer.Typer(
    help="Prepare the embedding model.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(model_app, name="model")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def store_option(help_text: str) -> Any:  # typer.Option's own return type
    """--store FOLDER; each command says which store it means."""
    return typer.Option("--store", metavar="FOLDER", help=help_text)


StoreOption = Annotated[
    Path | None, store_option("Store folder (default: SUMMIT_STORE or a per-user folder).")
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


def load_settings(store: Path | None) -> Settings:
    """Settings from SUMMIT_* variables and .env; a bad value is one line, not a traceback."""
    from pydantic import ValidationError

    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(_problem(e["loc"], e["msg"]) for e in exc.errors())
        render.print_error(err, f"invalid setting ({problems})")
        raise typer.Exit(2) from None
    return settings.changed(store=store) if store is not None else settings


def _problem(location: tuple[int | str, ...], message: str) -> str:
    message = message.removeprefix("Value error, ")
    return f"{'.'.join(map(str, location))}: {message}" if location else message


@contextmanager
def user_errors() -> Iterator[None]:
    """A SummitError becomes one line on stderr and exit status 1, never a traceback."""
    try:
        yield
    except SummitError as exc:
        render.print_error(err, str(exc))
        raise typer.Exit(1) from None


def notify(message: str) -> None:
    render.print_text(err, message)


def input_lines(argument: str | None) -> Iterator[str]:
    """The argument, or one item a line from stdin (blank lines skipped)."""
    if argument is not None:
        yield argument
        return
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def each_input(argument: str | None, handle: Callable[[str], None]) -> None:
    """handle(argument), or handle each line of stdin; one bad line does not stop the
    others, and any failure makes the exit status 1."""
    failures = 0
    for line in input_lines(argument):
        try:
            handle(line)
        except SummitError as exc:
            render.print_error(err, str(exc))
            failures += 1
    if failures:
        raise typer.Exit(1)


@contextmanager
def progress_bar(as_json: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A bar on stderr for each stage of an ingest, when a person watches the terminal;
    None when the output is JSON or stderr is not a terminal."""
    if as_json or not err.is_terminal:
        yield None
        return
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
