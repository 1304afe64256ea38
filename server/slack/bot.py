"""create_slack_app: the slack-bolt app, for HTTP events and for Socket Mode alike.

A listener parses the Slack event, calls the core, formats the reply. Events are
acknowledged before the answer is computed (slack-bolt runs event listeners after the ack;
the slash command answers through a lazy listener), so slow answers never make Slack retry.
Mentions, DMs and the assistant pane get the answer streamed into their thread
(server/slack/streaming.py); every answer carries 👍/👎 buttons, recorded with it.
"""

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from server.assistant import Assistant
from server.contract import Answer, Turn
from server.errors import InvalidInputError, NotReadyError, UnavailableError
from server.feedback import FeedbackStore, FeedbackStoreError
from server.settings import SlackSettings
from server.slack.blocks import FEEDBACK_ACTION, answer_message, closing_blocks, notice_message
from server.slack.deliveries import SeenEvents
from server.slack.files import SharedFiles
from server.slack.pane import PaneGreeter, assistant_pane, set_title, show_status
from server.slack.ratings import FeedbackButtons
from server.slack.streaming import Finished, StreamedReply, Thread, post_message
from server.slack.threads import not_for_us, question_of, thread_history

log = logging.getLogger(__name__)
AssistantProvider = Callable[[], Assistant]
Json = dict[str, Any]  # a Slack event, request body or listener context, as bolt gives it

WORKING_REACTION = "hourglass_flowing_sand"
SEARCHING = "Searching {documents:,} documents…"
USAGE = "Ask me about the summit documents, for example: /summit Where was the summit held?"
STARTING = "I'm still starting up; please ask again in a minute."
UNAVAILABLE = "Sorry, I can't reach the documents right now; please try again later."
FAILED = "Sorry, something went wrong while answering; it has been logged. Please try again."


def create_slack_app(
    settings: SlackSettings,
    assistant_provider: AssistantProvider,
    feedback: FeedbackStore,
    files: SharedFiles | None = None,
) -> App:
    """The bot; answers and their ratings are kept in `feedback` (server/feedback.py), and
    files shared with it go to `files` (none: shared files are not taken)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret
    app = App(
        client=WebClient(token=token, base_url=settings.slack_api_url),  # bolt takes its token
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode needs no signing secret; HTTP mode is only mounted with one.
        request_verification_enabled=secret is not None,
        token_verification_enabled=False,  # auth.test on the first event, not at start-up
    )
    responder = SlackResponder(assistant_provider, settings.slack_slash_ephemeral, feedback, files)
    register_listeners(app, responder, assistant_provider, FeedbackButtons(feedback))
    return app


def register_listeners(
    app: App,
    responder: "SlackResponder",
    assistant_provider: AssistantProvider,
    buttons: FeedbackButtons,
) -> None:
    greeter = PaneGreeter(assistant_provider)
    app.assistant(assistant_pane(greeter, responder.on_pane_message, _context_not_needed))
    app.event("app_mention")(responder.on_mention)
    app.event("message")(responder.on_message)
    app.command("/summit")(ack=responder.ack_command, lazy=[responder.answer_command])
    app.action(FEEDBACK_ACTION)(buttons.on_click)


def _context_not_needed() -> None:
    """The channel a pane was opened beside does not change what the documents say
    (bolt's default would store it in the thread's first message)."""


class SlackResponder:
    def __init__(
        self,
        assistant_provider: AssistantProvider,
        slash_ephemeral: bool,
        feedback: FeedbackStore,
        shared_files: SharedFiles | None = None,
    ) -> None:
        self._assistant = assistant_provider
        self._slash_ephemeral = slash_ephemeral
        self._feedback = feedback
        self._shared_files = shared_files
        self._seen = SeenEvents()

    # Bolt passes a listener what its parameter names ask for (event, body, client, context).
    def on_mention(self, event: Json, body: Json, client: WebClient, context: Json) -> None:
        self._reply_in_thread(event, body, client, context.get("bot_user_id"))

    def on_message(self, event: Json, body: Json, client: WebClient, context: Json) -> None:
        # Every message event needs a listener, or bolt answers Slack 404 and Slack retries;
        # channel messages that mention the bot come as app_mention, so only DMs go on.
        if event.get("channel_type") == "im":
            self._reply_in_thread(event, body, client, context.get("bot_user_id"))

    def on_pane_message(self, event: Json, body: Json, client: WebClient, context: Json) -> None:
        self._reply_in_thread(event, body, client, context.get("bot_user_id"), pane=True)

    def ack_command(self, ack: Ack, command: dict[str, Any]) -> None:
        if command.get("text", "").strip():
            ack(text="Looking that up…", response_type="ephemeral")
        else:
            ack(text=USAGE, response_type="ephemeral")

    def answer_command(self, respond: Respond, command: dict[str, Any]) -> None:
        question = command.get("text", "").strip()
        if not question:
            return
        place = f"{command.get('team_id')}/{command.get('channel_id')}"
        try:
            answer = self._assistant().ask(question)
            message = answer_message(answer, self._keep(answer, place))
        except Exception as exc:  # the user gets a polite notice; the log gets the cause
            message = notice_message(_notice(exc))
        response_type = "ephemeral" if self._slash_ephemeral else "in_channel"
        respond(response_type=response_type, replace_original=True, **message)

    def _reply_in_thread(
        self,
        event: Json,
        body: Json,
        client: WebClient,
        bot_user_id: str | None,
        pane: bool = False,
    ) -> None:
        if not_for_us(event, bot_user_id):
            return
        channel, ts = event["channel"], event["ts"]
        if not self._seen.first_time([str(body.get("event_id") or ""), f"{channel}:{ts}"]):
            return  # a retry or a duplicate delivery of an event already answered
        team = event.get("team") or body.get("team_id")
        thread = Thread(channel, event.get("thread_ts") or ts, team, event.get("user"))
        if event.get("files") and self._shared_files is not None:
            working = self._show_working(client, thread, ts, pane=False)
            try:
                self._shared_files.take(client, thread, event)  # files shared: added, not asked
            finally:
                working()
            return
        working = self._show_working(client, thread, ts, pane)
        try:
            history = thread_history(client, event, bot_user_id) if thread.thread_ts != ts else []
            question = question_of(event)
            if pane and question and not any(turn.role == "user" for turn in history):
                set_title(client, thread, question)
            self._stream_answer(client, thread, question, history)
        finally:
            working()

    def _show_working(
        self, client: WebClient, thread: Thread, ts: str, pane: bool
    ) -> Callable[[], object]:
        """Shows that an answer is being looked up; returns what takes the sign down: the
        pane's status there, else (or where Slack refuses a status) the reaction."""
        if pane and show_status(client, thread, SEARCHING.format(documents=self._documents())):
            return lambda: show_status(client, thread, "")
        _react(client.reactions_add, thread.channel, ts)
        return lambda: _react(client.reactions_remove, thread.channel, ts)

    def _documents(self) -> int:
        try:
            return self._assistant().status().documents
        except Exception:  # the answer will say what is wrong; the status is a nicety
            return 0

    def _stream_answer(
        self, client: WebClient, thread: Thread, question: str, history: list[Turn]
    ) -> None:
        """Streams the answer into the thread; a question that cannot be answered gets a
        polite notice, as one message."""
        if not question:
            post_message(client, thread, notice_message(USAGE))
            return
        try:
            events = self._assistant().ask_stream(question, history)  # checks the question
        except Exception as exc:  # the user gets a polite notice; the log gets the cause
            post_message(client, thread, notice_message(_notice(exc)))
            return
        reply = StreamedReply(client, thread)
        place = f"{thread.team}/{thread.channel}/{thread.thread_ts}"
        try:
            reply.send(events, lambda a: self._finished(a, place))
        except Exception as exc:  # the notice ends the stream, or is posted if none began
            reply.abandon(notice_message(_notice(exc)))

    def _finished(self, answer: Answer, place: str) -> Finished:
        answer_id = self._keep(answer, place)
        return Finished(closing_blocks(answer, answer_id), answer_message(answer, answer_id))

    def _keep(self, answer: Answer, place: str) -> str | None:
        """The id the answer's buttons carry; None (no buttons) if it cannot be kept."""
        try:
            return self._feedback.keep(answer, f"slack:{place}")
        except FeedbackStoreError as exc:
            log.warning("the answer was given without feedback buttons: %s", exc)
            return None


def _notice(exc: Exception) -> str:
    """What the user is told of a failure (never the exception's text unless it is theirs)."""
    if isinstance(exc, InvalidInputError):
        return str(exc)
    if isinstance(exc, NotReadyError):
        log.warning("a Slack question met an assistant not ready: %s", exc)
        return STARTING if exc.starting else UNAVAILABLE
    if isinstance(exc, UnavailableError):
        log.warning("a Slack question was not answered: %s (cause: %r)", exc, exc.__cause__)
        return UNAVAILABLE
    log.error("answering a Slack question failed", exc_info=exc)
    return FAILED


def _react(call: Callable[..., Any], channel: str, ts: str) -> None:
    """The 'working on it' reaction; a missing scope or a gone message is not an error."""
    try:
        call(channel=channel, timestamp=ts, name=WORKING_REACTION)
    except SlackApiError as exc:
        log.info("reaction not changed: %s", exc.response.get("error"))
