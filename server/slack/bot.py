"""create_slack_app: the slack-bolt app, for HTTP events and for Socket Mode alike.

A listener parses the Slack event, calls the core, formats the reply. Events are
acknowledged before the answer is computed (slack-bolt runs event listeners after the ack;
the slash command answers through a lazy listener), so slow answers never make Slack retry.
"""

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from server.assistant import Assistant
from server.errors import InvalidInputError, NotReadyError, UnavailableError
from server.models import Turn
from server.plaintext import answer_of_reply
from server.settings import Settings
from server.slack.blocks import answer_message, notice_message
from server.slack.deliveries import SeenEvents

log = logging.getLogger(__name__)
AssistantProvider = Callable[[], Assistant]
Json = dict[str, Any]  # a Slack event, request body or listener context, as bolt gives it

WORKING_REACTION = "hourglass_flowing_sand"
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_THREAD_TURNS = 20  # earlier messages of a thread a follow-up draws on
_PAGE_SIZE = 100  # Slack may return fewer a page
_MAX_PAGES = 50  # bounds the reading of an enormous thread
_PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
USAGE = "Ask me about the summit documents, for example: /summit Where was the summit held?"
STARTING = "I'm still starting up; please ask again in a minute."
UNAVAILABLE = "Sorry, I can't reach the documents right now; please try again later."
FAILED = "Sorry, something went wrong while answering; it has been logged. Please try again."


def create_slack_app(settings: Settings, assistant_provider: AssistantProvider) -> App:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    secret = settings.slack_signing_secret
    app = App(
        client=WebClient(token=token, base_url=settings.slack_api_url),  # bolt takes its token
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode needs no signing secret; HTTP mode is only mounted with one.
        request_verification_enabled=secret is not None,
        token_verification_enabled=False,  # auth.test on the first event, not at start-up
    )
    register_listeners(app, SlackResponder(assistant_provider, settings.slack_slash_ephemeral))
    return app


def register_listeners(app: App, responder: "SlackResponder") -> None:
    app.event("app_mention")(responder.on_mention)
    app.event("message")(responder.on_message)
    app.command("/summit")(ack=responder.ack_command, lazy=[responder.answer_command])


class SlackResponder:
    def __init__(self, assistant_provider: AssistantProvider, slash_ephemeral: bool) -> None:
        self._assistant = assistant_provider
        self._slash_ephemeral = slash_ephemeral
        self._seen = SeenEvents()

    # Bolt passes a listener what its parameter names ask for (event, body, client, context).
    def on_mention(self, event: Json, body: Json, client: WebClient, context: Json) -> None:
        self._reply_in_thread(event, body, client, context.get("bot_user_id"))

    def on_message(self, event: Json, body: Json, client: WebClient, context: Json) -> None:
        # Every message event needs a listener, or bolt answers Slack 404 and Slack retries;
        # channel messages that mention the bot come as app_mention, so only DMs go on.
        if event.get("channel_type") == "im":
            self._reply_in_thread(event, body, client, context.get("bot_user_id"))

    def ack_command(self, ack: Ack, command: dict[str, Any]) -> None:
        if command.get("text", "").strip():
            ack(text="Looking that up…", response_type="ephemeral")
        else:
            ack(text=USAGE, response_type="ephemeral")

    def answer_command(self, respond: Respond, command: dict[str, Any]) -> None:
        question = command.get("text", "").strip()
        if not question:
            return
        response_type = "ephemeral" if self._slash_ephemeral else "in_channel"
        respond(response_type=response_type, replace_original=True, **self._answer(question, []))

    def _reply_in_thread(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        client: WebClient,
        bot_user_id: str | None,
    ) -> None:
        if _not_for_us(event, bot_user_id):
            return
        channel, ts = event["channel"], event["ts"]
        if not self._seen.first_time([str(body.get("event_id") or ""), f"{channel}:{ts}"]):
            return  # a retry or a duplicate delivery of an event already answered
        thread_ts = event.get("thread_ts") or ts
        _react(client.reactions_add, channel, ts)
        try:
            history = _thread_history(client, event, bot_user_id) if thread_ts != ts else []
            message = self._answer(_question(event), history)
            _post(client, channel, thread_ts, message)
        finally:
            _react(client.reactions_remove, channel, ts)

    def _answer(self, question: str, history: list[Turn]) -> dict[str, Any]:
        """The reply to post: the answer, or a polite notice (never an exception's text)."""
        if not question:
            return notice_message(USAGE)
        try:
            return answer_message(self._assistant().ask(question, history))
        except InvalidInputError as exc:
            return notice_message(str(exc))
        except NotReadyError as exc:
            log.warning("a Slack question met an assistant not ready: %s", exc)
            return notice_message(STARTING if exc.starting else UNAVAILABLE)
        except UnavailableError as exc:
            log.warning("a Slack question was not answered: %s (cause: %r)", exc, exc.__cause__)
            return notice_message(UNAVAILABLE)
        except Exception:  # the user gets a polite notice; the log gets the cause
            log.exception("answering a Slack question failed")
            return notice_message(FAILED)


def _post(client: WebClient, channel: str, thread_ts: str, message: dict[str, Any]) -> None:
    """Posts the reply; if Slack refuses its blocks, the plain text still gets through."""
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)
    except SlackApiError as exc:
        log.warning(
            "Slack refused the reply (%s); posting it as plain text", exc.response.get("error")
        )
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message["text"])


def _not_for_us(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """Bots (this one included), edits, deletions and other subtypes get no reply."""
    return bool(
        event.get("bot_id")
        or _ignored_subtype(event)
        or (bot_user_id and event.get("user") == bot_user_id)
        or "channel" not in event
        or "ts" not in event
    )


def _ignored_subtype(message: dict[str, Any]) -> bool:
    """Edits, deletions, joins, bot posts...: all but a person's message with a file or one
    also sent to the channel."""
    return message.get("subtype") not in _PERSON_SUBTYPES


def _question(event: dict[str, Any]) -> str:
    return " ".join(_MENTION.sub(" ", str(event.get("text", ""))).split())


def _thread_history(
    client: WebClient, event: dict[str, Any], bot_user_id: str | None
) -> list[Turn]:
    """The thread's latest earlier messages as conversation turns, oldest first."""
    turns = []
    for message in _thread_messages(client, event["channel"], event["thread_ts"]):
        if message.get("ts") == event["ts"] or _ignored_subtype(message):
            continue
        from_bot = bool(message.get("bot_id")) or message.get("user") == bot_user_id
        text = answer_of_reply(str(message.get("text", ""))) if from_bot else _question(message)
        if text:
            turns.append(Turn(role="assistant" if from_bot else "user", content=text))
    return turns[-_THREAD_TURNS:]


def _thread_messages(client: WebClient, channel: str, thread_ts: str) -> Iterator[dict[str, Any]]:
    """Every message of the thread, oldest first: Slack pages them (15 a page for many
    apps), and the latest ones are the ones a follow-up leans on."""
    cursor = None
    for _ in range(_MAX_PAGES):
        try:
            page = client.conversations_replies(
                channel=channel, ts=thread_ts, limit=_PAGE_SIZE, cursor=cursor
            )
        except SlackApiError as exc:
            log.warning("could not read the thread %s: %s", thread_ts, exc.response.get("error"))
            return
        yield from page.get("messages") or []
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


def _react(call: Callable[..., Any], channel: str, ts: str) -> None:
    """The 'working on it' reaction; a missing scope or a gone message is not an error."""
    try:
        call(channel=channel, timestamp=ts, name=WORKING_REACTION)
    except SlackApiError as exc:
        log.info("reaction not changed: %s", exc.response.get("error"))
