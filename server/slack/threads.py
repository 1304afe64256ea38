"""What a Slack event says: the question in it, whether it is for the bot, and the
earlier messages of its thread as conversation turns."""

import logging
import re
from collections.abc import Iterator
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from server.contract import Turn
from server.plaintext import answer_of_reply

log = logging.getLogger(__name__)
Json = dict[str, Any]  # a Slack event or message, as bolt gives it

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
_THREAD_TURNS = 20  # earlier messages of a thread a follow-up draws on
_PAGE_SIZE = 100  # Slack may return fewer a page
_MAX_PAGES = 50  # bounds the reading of an enormous thread
_PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})


def not_for_us(event: Json, bot_user_id: str | None) -> bool:
    """Bots (this one included), edits, deletions and other subtypes get no reply."""
    return bool(
        event.get("bot_id")
        or _ignored_subtype(event)
        or (bot_user_id and event.get("user") == bot_user_id)
        or "channel" not in event
        or "ts" not in event
    )


def question_of(event: Json) -> str:
    return " ".join(_MENTION.sub(" ", str(event.get("text", ""))).split())


def thread_history(client: WebClient, event: Json, bot_user_id: str | None) -> list[Turn]:
    """The thread's latest earlier messages as conversation turns, oldest first. What the
    bot said before anyone asked (the assistant pane's greeting) answered nothing."""
    turns: list[Turn] = []
    for message in _thread_messages(client, event["channel"], event["thread_ts"]):
        if message.get("ts") == event["ts"] or _ignored_subtype(message):
            continue
        from_bot = bool(message.get("bot_id")) or message.get("user") == bot_user_id
        if from_bot and not turns:
            continue
        text = answer_of_reply(str(message.get("text", ""))) if from_bot else question_of(message)
        if text:
            turns.append(Turn(role="assistant" if from_bot else "user", content=text))
    return turns[-_THREAD_TURNS:]


def _ignored_subtype(message: Json) -> bool:
    """Edits, deletions, joins, bot posts...: all but a person's message with a file or one
    also sent to the channel."""
    return message.get("subtype") not in _PERSON_SUBTYPES


def _thread_messages(client: WebClient, channel: str, thread_ts: str) -> Iterator[Json]:
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
