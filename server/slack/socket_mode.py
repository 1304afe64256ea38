"""`summit slack`: the bot over Socket Mode, for workspaces without a public URL."""

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from server.errors import SummitError
from server.feedback import FeedbackStore
from server.live import AssistantFactory, LiveAssistant, kept_current
from server.settings import SlackSettings
from server.slack.bot import create_slack_app
from server.slack.files import SharedFiles


class SlackNotConfiguredError(SummitError):
    def __init__(self) -> None:
        super().__init__(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN (xoxb-...)."
        )


def run_socket_mode(
    settings: SlackSettings,
    refresh_seconds: float,
    build_assistant: AssistantFactory,
    feedback: FeedbackStore,
    files: SharedFiles | None,
) -> None:
    """Checks the tokens before loading anything, then serves until interrupted; what
    `summit ingest` adds meanwhile is answered within SUMMIT_REFRESH_SECONDS."""
    if settings.slack_app_token is None or settings.slack_bot_token is None:
        raise SlackNotConfiguredError()
    live = kept_current(build_assistant, refresh_seconds)
    handler = SocketModeHandler(
        socket_mode_app(settings, live, feedback, files),
        settings.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=settings.slack_api_url),
    )
    try:
        handler.start()  # type: ignore[no-untyped-call]  # blocks until interrupted
    finally:
        live.stop()


def socket_mode_app(
    settings: SlackSettings,
    live: LiveAssistant,
    feedback: FeedbackStore,
    files: SharedFiles | None = None,
) -> App:
    """The bot, answering with whatever assistant `live` holds at each question."""
    return create_slack_app(settings, lambda: live.assistant, feedback, files)
