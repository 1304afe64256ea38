"""`summit serve` (HTTP and the chat page) and `summit slack` (Socket Mode)."""

from typing import Annotated

import typer

from server.cli.base import (
    StoreOption,
    app,
    load_settings,
    notify,
    user_errors,
)
from server.settings import HttpSettings


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(
            metavar="ADDRESS", help="Address to listen on (SUMMIT_HOST sets the default)."
        ),
    ] = HttpSettings.model_fields["host"].default,
    port: Annotated[
        int,
        typer.Option(min=1, max=65535, metavar="PORT", help="Port (SUMMIT_PORT sets the default)."),
    ] = HttpSettings.model_fields["port"].default,
    store: StoreOption = None,
) -> None:
    """Run the HTTP API and the chat page.

    The page is at http://HOST:PORT/, the API's documentation at /docs."""
    import uvicorn

    from server.httpapi.app import create_app
    from server.httpapi.protocol import json_error_protocol
    from server.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before the server's threads start

    given = {"host": host, "port": port}
    settings = load_settings(store).changed(
        **{name: value for name, value in given.items() if _typed(ctx, name)}
    )
    uvicorn.run(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
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
    from server.components import build_assistant, feedback_store
    from server.components.intake import DocumentIntake
    from server.memory import limit_malloc_arenas
    from server.slack.files import SharedFiles
    from server.slack.socket_mode import run_socket_mode

    limit_malloc_arenas()

    settings = load_settings(store)
    with user_errors():
        intake = DocumentIntake(settings)  # its ingest's parts load with the first file
        files = SharedFiles(settings.slack, settings.ingest.upload_max_file_bytes, lambda: intake)
        feedback = feedback_store(settings)
        refresh = settings.storage.refresh_seconds
        build = lambda: build_assistant(settings, notify)  # noqa: E731
        run_socket_mode(settings.slack, refresh, build, feedback, files)
