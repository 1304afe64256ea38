"""`summit slack`: the bot over Socket Mode, for workspaces without a public URL."""

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from server.errors import SummitError
from server.live import AssistantFactory, LiveAssistant
from server.settings import Settings
from server.slack.bot import create_slack_app


class SlackNotConfiguredError(SummitError):
    def __init__(self) -> None:
        super().__init__(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN (xoxb-...)."
        )


def run_socket_mode(settings: Settings, build_assistant: AssistantFactory) -> None:
    """Checks the tokens before loading anything, then serves until interrupted."""
    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise SlackNotConfiguredError()
    handler = SocketModeHandler(
        socket_mode_app(settings, build_assistant),
        settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
    )
    handler.start()  # type: ignore[no-untyped-call]  # blocks until interrupted


def socket_mode_app(settings: Settings, build_assistant: AssistantFactory) -> App:
    """The bot over an assistant loaded now and kept current with the store (what
    `summit ingest` adds is answered within SUMMIT_REFRESH_SECONDS)."""
    live = LiveAssistant(build_assistant, settings.refresh_seconds)
    live.load()
    live.start()
    return create_slack_app(settings, lambda: live.assistant)
