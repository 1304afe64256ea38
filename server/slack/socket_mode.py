"""`summit slack`: the bot over Socket Mode, for workspaces without a public URL."""

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from server.errors import SummitError
from server.live import AssistantFactory, LiveAssistant, kept_current
from server.settings import Settings
from server.slack.bot import create_slack_app
from server.slack.files import FileIntake


class SlackNotConfiguredError(SummitError):
    def __init__(self) -> None:
        super().__init__(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN (xoxb-...)."
        )


def run_socket_mode(settings: Settings, build_assistant: AssistantFactory) -> None:
    """Checks the tokens before loading anything, then serves until interrupted; what
    `summit ingest` adds meanwhile is answered within SUMMIT_REFRESH_SECONDS."""
    slack = settings.slack
    if slack.slack_app_token is None or slack.slack_bot_token is None:
        raise SlackNotConfiguredError()
    live = kept_current(build_assistant, settings.storage.refresh_seconds)
    handler = SocketModeHandler(
        socket_mode_app(settings, live),
        slack.slack_app_token.get_secret_value(),
        web_client=WebClient(base_url=slack.slack_api_url),
    )
    try:
        handler.start()  # type: ignore[no-untyped-call]  # blocks until interrupted
    finally:
        live.stop()


def socket_mode_app(settings: Settings, live: LiveAssistant) -> App:
    """The bot, answering with whatever assistant `live` holds at each question; its
    feedback and the files shared with it go beside the store."""
    from server.components import feedback_store
    from server.components.documents import DocumentIntake

    files = FileIntake(
        settings.slack, settings.http.upload_max_file_bytes, DocumentIntake(settings)
    )
    return create_slack_app(settings.slack, lambda: live.assistant, feedback_store(settings), files)
