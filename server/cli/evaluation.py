"""`summit eval qa` and `summit eval retrieval`: answer and retrieval quality."""

from pathlib import Path
from typing import Annotated

import typer

from server.cli import render
from server.cli.base import (
    JsonOption,
    eval_app,
    load_settings,
    notify,
    out,
    progress_bar,
    store_option,
    user_errors,
)
from server.settings import Settings


@eval_app.command("qa")
def eval_qa(
    question_set: Annotated[
        Path,
        typer.Argument(
            metavar="QUESTIONS",
            help="JSON Lines (question, answers, answerable), or a QA folder: news "
            "(questions.jsonl and corpus.jsonl, the RealTimeQA layout) or SQuAD 2.0 "
            "(questions.jsonl and paragraphs.jsonl).",
        ),
    ],
    store: Annotated[
        Path | None,
        store_option(
            "The store to answer from (a QA folder's default: its own store beside SUMMIT_STORE)."
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
    from server.components.evaluation import evaluate_answers

    # A news QA folder brings its own corpus; a question file asks the assistant's store.
    settings = _own_store(store, question_set) if question_set.is_dir() else load_settings(store)
    with user_errors():
        report = evaluate_answers(settings, question_set, notify, dated=not undated)
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
        Path | None, store_option("The dataset's own store (default: beside SUMMIT_STORE).")
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
    from server.components.evaluation import evaluate_retrieval

    settings = _own_store(store, dataset).changed(collection="beir")
    with user_errors(), progress_bar(as_json) as callback:
        report = evaluate_retrieval(settings, dataset, depth, callback, whole_documents)
    if as_json:
        print(report.model_dump_json())
    else:
        render.print_retrieval_report(out, report)


def _own_store(store: Path | None, dataset: Path) -> Settings:
    """The settings with the store given, else the dataset's own store beside SUMMIT_STORE."""
    from server.storage.layout import dataset_store

    settings = load_settings(store)
    if store is not None:
        return settings
    return settings.changed(store=dataset_store(settings.storage.store, dataset))
