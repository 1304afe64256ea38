"""`summit slack`: the bot over Socket Mode, for workspaces without a public URL."""

from collections.abc import Callable

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from server.assistant import Assistant
from server.errors import SummitError
from server.settings import Settings
from server.slack.bot import create_slack_app


class SlackNotConfiguredError(SummitError):
    def __init__(self) -> None:
        super().__init__(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN (xoxb-...)."
        )


def run_socket_mode(settings: Settings, build_assistant: Callable[[], Assistant]) -> None:
    """Checks the tokens before loading anything, then serves until interrupted."""
    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise SlackNotConfiguredError()
    assistant = build_assistant()
    app = create_slack_app(settings, lambda: assistant)
    handler = SocketModeHandler(
        app,
        settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
    )
    handler.start()  # type: ignore[no-untyped-call]  # blocks until interrupted
