"""`summit documents list|show|remove`: the documents the store holds, one at a time."""

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from server.cli import render
from server.cli.base import JsonOption, StoreOption, documents_app, load_settings, out, user_errors

if TYPE_CHECKING:
    from server.contract import DocumentDetail, DocumentList
    from server.storage.store import ChunkStore

say = render.print_text
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="The document's id (see list).")]


TitleOption = Annotated[
    str | None, typer.Option("--title", "-q", metavar="WORDS", help="Words the title holds.")
]
OutletOption = Annotated[
    str | None, typer.Option("--outlet", metavar="NAME", help="Only this outlet's.")
]
SinceOption = Annotated[
    datetime.datetime | None,
    typer.Option("--since", metavar="DAY", formats=["%Y-%m-%d"], help="Published on or after DAY."),
]
UntilOption = Annotated[
    datetime.datetime | None,
    typer.Option(
        "--until", metavar="DAY", formats=["%Y-%m-%d"], help="Published on or before DAY."
    ),
]
OffsetOption = Annotated[int, typer.Option("--offset", metavar="N", min=0, help="Skipped.")]
LimitOption = Annotated[int, typer.Option("--limit", metavar="N", min=1, help="Shown.")]


@documents_app.command("list")
def list_command(
    title: TitleOption = None,
    outlet: OutletOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    offset: OffsetOption = 0,
    limit: LimitOption = 50,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The documents, newest added first (loads no model)."""
    from server.components.documents import list_documents
    from server.storage.catalogue import DocumentFilter

    wanted = DocumentFilter(
        title, outlet, since.date() if since else None, until.date() if until else None
    )
    with user_errors():
        page = list_documents(_open_store(store), wanted, offset, limit)
    if as_json:
        print(page.model_dump_json())
    else:
        print_documents(out, page)


@documents_app.command("show")
def show_command(
    doc_id: IdArgument, store: StoreOption = None, as_json: JsonOption = False
) -> None:
    """One document and its passages."""
    from server.components.documents import show_document

    with user_errors():
        detail = show_document(_open_store(store), doc_id)
    if as_json:
        print(detail.model_dump_json())
    else:
        print_document(out, detail)


@documents_app.command("remove")
def remove_command(doc_id: IdArgument, store: StoreOption = None) -> None:
    """Take a document out of the store: its passages are no longer searched or cited."""
    from server.components.documents import remove_document
    from server.components.store import open_store

    settings = load_settings(store)
    with user_errors():
        remove_document(settings, open_store(settings.storage, settings.embedding), doc_id)
    render.print_text(out, f"Removed {doc_id}.")


def _open_store(store: Path | None) -> "ChunkStore":
    from server.components.store import open_store

    settings = load_settings(store)
    return open_store(settings.storage, settings.embedding)


def print_documents(console: Console, page: "DocumentList") -> None:
    """One line a document: id, date, outlet, title (or source), passages."""
    if not page.documents:
        say(console, "No documents match.")
        return
    for doc in page.documents:
        when = (doc.published or "")[:10] or "—"
        outlet = f"{doc.outlet} · " if doc.outlet else ""
        say(
            console, f"{doc.id}  {when}  {outlet}{doc.title or doc.source}  ({doc.chunks} passages)"
        )
    say(console, f"{len(page.documents)} of {page.total} documents.")


def print_document(console: Console, doc: "DocumentDetail") -> None:
    say(console, doc.title or doc.source)
    details = [doc.source, doc.outlet, doc.published, f"added {doc.added}" if doc.added else None]
    say(console, " · ".join(d for d in details if d))
    for n, passage in enumerate(doc.passages, start=1):
        say(console, f"\n[{n}] {passage.text}")
