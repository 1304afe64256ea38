"""`summit feedback`: the 👍/👎 people gave answers in Slack, listed or exported."""

import json
from pathlib import Path
from typing import Annotated

import typer

from server.cli import render
from server.cli.base import JsonOption, StoreOption, app, load_settings, out, user_errors
from server.errors import InvalidInputError

RatingOption = Annotated[
    str | None,
    typer.Option("--rating", metavar="up|down", help="Only the answers rated up, or down."),
]
ExportOption = Annotated[
    Path | None,
    typer.Option(
        "--export",
        metavar="FILE",
        help="Write them as a JSON Lines question set (answers to fill in) for `summit eval qa`.",
    ),
]


class UnknownRatingError(InvalidInputError):
    def __init__(self, given: str) -> None:
        super().__init__(f"--rating must be up or down, not {given!r}.")


@app.command()
def feedback(
    rating: RatingOption = None,
    export: ExportOption = None,
    store: StoreOption = None,
    as_json: JsonOption = False,
) -> None:
    """The ratings given to answers, newest first, with their questions and sources."""
    from server.components import feedback_store
    from server.feedback import RATINGS, as_question, as_record

    with user_errors():
        kind = next((r for r in RATINGS if r == rating), None)
        if rating is not None and kind is None:
            raise UnknownRatingError(rating)
        ratings = feedback_store(load_settings(store)).ratings(kind)
        if export is not None:
            lines = "".join(json.dumps(as_question(r), ensure_ascii=False) + "\n" for r in ratings)
            _write(export, lines)
    if as_json:
        print(json.dumps([as_record(r) for r in ratings], ensure_ascii=False))
    else:
        render.print_feedback(out, ratings, export)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
