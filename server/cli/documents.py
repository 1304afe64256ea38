"""`summit ingest`, `summit status`, `summit model export`: what the store holds."""

import json
from pathlib import Path
from typing import Annotated

import typer

from server.cli import render
from server.cli.base import (
    JsonOption,
    StoreOption,
    app,
    load_settings,
    model_app,
    out,
    progress_bar,
    user_errors,
)

SourcesOption = Annotated[
    Path | None,
    typer.Option(
        "--sources",
        metavar="FILE",
        help="A TOML or YAML file naming feeds, pages and folders to follow.",
    ),
]


SentenceVectorsOption = Annotated[
    bool,
    typer.Option(
        "--sentence-vectors",
        help="Also store every chunk's sentence vectors, so answers never encode "
        "passages (SUMMIT_INGEST_SENTENCE_VECTORS).",
    ),
]


@app.command()
def ingest(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH_OR_URL",
            help="Files, folders, feed or page URLs (default: the bundled corpus).",
        ),
    ] = None,
    sources_file: SourcesOption = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Remove documents whose files are gone.")
    ] = False,
    sentence_vectors: SentenceVectorsOption = False,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load, chunk, embed and store documents.

    Reads .md, .txt, .html, .pdf and .jsonl files (folders are walked recursively), RSS and
    Atom feeds and web pages (fetched politely: robots.txt, a pause per host)."""
    from server.components import ingest as run_ingest
    from server.components.web import sources_to_follow

    settings = load_settings(store)
    if sentence_vectors:
        settings = settings.changed(ingest_sentence_vectors=True)
    with user_errors():
        sources = sources_to_follow(targets or [], sources_file, settings.storage.corpus_dir)
        with progress_bar(as_json) as callback:
            report = run_ingest(settings, sources.paths, prune, callback, sources)
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        render.print_ingest_report(out, report)


@app.command()
def watch(
    sources_file: Annotated[
        Path, typer.Argument(metavar="SOURCES", help="The sources file to follow (TOML or YAML).")
    ],
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0,
            metavar="SECONDS",
            help="Seconds from one round's start to the next.",
        ),
    ] = 900.0,
    rounds: Annotated[
        int | None,
        typer.Option("--rounds", min=1, metavar="N", help="Stop after this many rounds."),
    ] = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """Follow a sources file: ingest its feeds, pages and folders every --interval seconds.

    One line a round; running servers see new documents without a restart. Ctrl-C stops."""
    from server.components import watch as run_watch
    from server.components.web import sources_to_follow

    settings = load_settings(store)
    with user_errors():
        sources = sources_to_follow([], sources_file, settings.storage.corpus_dir)
        run_watch(settings, sources, interval, rounds, render.watch_printer(out, as_json))


@app.command()
def status(store: StoreOption = None, as_json: JsonOption = False) -> None:
    """What the store holds (loads no model)."""
    from server.components import store_status

    with user_errors():
        result = store_status(load_settings(store))
    if as_json:
        print(result.model_dump_json())
    else:
        render.print_status(out, result)


@model_app.command("export")
def model_export(as_json: JsonOption = False) -> None:
    """Export the embedding model to ONNX now.

    Otherwise done on first need; every later process loads the export without importing
    torch."""
    from server.components.store import export_embedding_model

    with user_errors():
        export = export_embedding_model(load_settings(None).embedding)
    if as_json:
        print(json.dumps({"folder": str(export.folder), "sha256": export.sha256}))
    else:
        render.print_text(out, f"ONNX export: {export.folder} (sha256 {export.sha256[:16]}…)")
