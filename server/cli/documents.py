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

    settings = load_settings(store)
    if sentence_vectors:
        settings = settings.model_copy(update={"ingest_sentence_vectors": True})
    with user_errors():
        targets = paths or [settings.corpus_dir]
        with progress_bar(as_json) as callback:
            report = run_ingest(settings, targets, prune, callback)
    if as_json:
        print(json.dumps(report.as_json()))
    else:
        render.print_ingest_report(out, report)


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
    from server.components import export_embedding_model

    with user_errors():
        export = export_embedding_model(load_settings(None))
    if as_json:
        print(json.dumps({"folder": str(export.folder), "sha256": export.sha256}))
    else:
        render.print_text(out, f"ONNX export: {export.folder} (sha256 {export.sha256[:16]}…)")
