"""Slack's assistant pane: when a thread opens, a greeting and the corpus's latest
headlines as suggested prompts; while a question in it is answered, a status ("Searching
1,204 documents…"); and the thread titled after its first question. The questions are
answered as direct messages are (server/slack/bot.py)."""

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Assistant as AssistantPane
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from server.assistant import Assistant
from server.errors import SummitError
from server.slack.streaming import Thread

log = logging.getLogger(__name__)
Json = dict[str, Any]
PROMPTS = 4  # Slack shows at most four suggested prompts
_PROMPT_TITLE_CHARS = 75
_TITLE_CHARS = 80
GREETING = (
    "Hi! I answer from the {documents:,} documents I hold and cite the passage behind "
    "each statement; when they do not hold the answer, I say so."
)
PROMPTS_TITLE = "The latest headlines"
NOT_READY_GREETING = "Hi! I'm still loading the documents; ask me in a minute."


def assistant_pane(
    greeter: "PaneGreeter", on_question: Callable[..., None], on_context: Callable[..., None]
) -> AssistantPane:
    """Bolt's Assistant middleware: it takes the pane's events before the other listeners
    (a question in the pane is a DM in a thread)."""
    pane = AssistantPane()
    pane.thread_started(greeter.on_thread_started)
    pane.user_message(on_question)
    pane.thread_context_changed(on_context)
    return pane


class PaneGreeter:
    def __init__(self, assistant: Callable[[], Assistant]) -> None:
        self._assistant = assistant

    def on_thread_started(self, event: Json, client: WebClient) -> None:
        opened = event.get("assistant_thread") or {}
        channel, thread_ts = opened.get("channel_id"), opened.get("thread_ts")
        if not channel or not thread_ts:
            return
        greeting, prompts = self._greeting()
        if not _call(client.chat_postMessage, channel=channel, thread_ts=thread_ts, text=greeting):
            return
        if prompts:
            _call(
                client.assistant_threads_setSuggestedPrompts,
                channel_id=channel,
                thread_ts=thread_ts,
                title=PROMPTS_TITLE,
                prompts=prompts,
            )

    def _greeting(self) -> tuple[str, list[dict[str, str]]]:
        """The greeting and the prompts: one per latest headline, asking it as written
        (the readers answer a headline better than a question wrapped around it)."""
        try:
            assistant = self._assistant()
            documents = assistant.status().documents
            headlines = assistant.headlines(PROMPTS)
        except SummitError as exc:
            log.warning("the pane's greeting could not read the store: %s", exc)
            return NOT_READY_GREETING, []
        prompts = [
            {"title": _shorten(h.title, _PROMPT_TITLE_CHARS), "message": h.title} for h in headlines
        ]
        return GREETING.format(documents=documents), prompts


def show_status(client: WebClient, thread: Thread, status: str) -> bool:
    """The pane's "working on it" line ("" clears it); False where Slack has no pane (a
    thread of an app's DMs without one)."""
    return _call(
        client.assistant_threads_setStatus,
        channel_id=thread.channel,
        thread_ts=thread.thread_ts,
        status=status,
    )


def set_title(client: WebClient, thread: Thread, question: str) -> None:
    _call(
        client.assistant_threads_setTitle,
        channel_id=thread.channel,
        thread_ts=thread.thread_ts,
        title=_shorten(question, _TITLE_CHARS),
    )


def _call(method: Callable[..., Any], **params: Any) -> bool:
    """A pane nicety Slack refused (an app without the pane, a missing scope) is no error."""
    try:
        method(**params)
        return True
    except SlackApiError as exc:
        log.info("the assistant pane was not updated: %s", exc.response.get("error"))
        return False


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
