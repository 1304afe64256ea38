"""The command line: parses input, calls the core, formats output. Nothing else.

`summit` is `main` here; each module registers its commands on the one typer app
(server/cli/base.py): documents (ingest, status, model export), library (documents list,
show, remove), questions (ask, search,
chat), serving (serve, slack), evaluation (eval qa, eval retrieval), feedback (the ratings
given in Slack). render prints what the core returns; chat is the interactive prompt.
"""

import os
import sys

from server.cli import (  # noqa: F401
    documents,
    evaluation,
    feedback,
    library,
    questions,
    render,
    serving,
)
from server.cli.base import app, err

__all__ = ["app", "main"]


def main() -> None:
    """The `summit` command. A failure that is not the user's (a bug, a library's own
    error) is one line too, naming its kind; SUMMIT_DEBUG=1 shows the traceback."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("SUMMIT_DEBUG"):
            raise
        render.print_error(err, render.unexpected(exc))
        sys.exit(1)
