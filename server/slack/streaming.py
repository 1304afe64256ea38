"""An answer's events streamed into a Slack thread word by word (chat.startStream,
appendStream, stopStream through slack_sdk's ChatStream), the sources and the feedback
buttons under it at the end; one whole message where Slack cannot stream it."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.chat_stream import ChatStream

from server.contract import Answer, AnswerEvent, CitationsEvent, DeltaEvent, DoneEvent
from server.plaintext import SHORT_ANSWER_SEPARATOR

log = logging.getLogger(__name__)
Message = dict[str, Any]  # `text` and `blocks`, as chat.postMessage takes them
# Text is sent once this many characters are waiting: about ten words a call, so a
# 300-character answer takes five calls (slack_sdk's default, 256, would send most of
# our answers in one piece, which is not streaming).
STREAM_BUFFER_CHARS = 60


@dataclass(frozen=True)
class Thread:
    """Where a reply goes, and to whom (Slack needs the recipient to stream to a channel)."""

    channel: str
    thread_ts: str
    team: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class Finished:
    """What an answer ends with: the blocks under the streamed text, or the whole message."""

    blocks: list[dict[str, Any]]
    whole: Message


class StreamedReply:
    """One reply: streamed while Slack takes it, else posted or rewritten whole."""

    def __init__(self, client: WebClient, thread: Thread) -> None:
        self._client = client
        self._thread = thread
        self._stream: ChatStream = client.chat_stream(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            recipient_team_id=thread.team,
            recipient_user_id=thread.user,
            buffer_size=STREAM_BUFFER_CHARS,
        )
        self._streaming = True

    def send(self, events: Iterable[AnswerEvent], finish: Callable[[Answer], Finished]) -> Answer:
        """Streams the answer's text as it comes; returns the whole answer."""
        for event in events:
            if isinstance(event, CitationsEvent) and event.short_answer and self._streaming:
                self._append(f"**{event.short_answer}**{SHORT_ANSWER_SEPARATOR}")
            elif isinstance(event, DeltaEvent) and self._streaming:
                self._append(event.text)
            elif isinstance(event, DoneEvent):
                self._finish(event, finish(event.answer))
                return event.answer
        raise RuntimeError("the answer's events ended without the answer")

    def abandon(self, notice: Message) -> None:
        """The answer failed part-way: the notice ends the stream, or is posted."""
        if self._streaming and self._stream.ts is not None:
            try:
                self._stream.stop(markdown_text="\n\n" + notice["text"])
                return
            except (SlackApiError, SlackRequestError) as exc:
                log.warning("could not end the Slack stream: %s", _reason(exc))
        self._deliver_whole(notice)

    def _append(self, text: str) -> None:
        try:
            self._stream.append(markdown_text=text)
        except (SlackApiError, SlackRequestError) as exc:
            log.info("Slack did not take the stream (%s); the answer goes whole", _reason(exc))
            self._streaming = False

    def _finish(self, done: DoneEvent, finished: Finished) -> None:
        if self._streaming:
            try:
                self._stream.stop(blocks=finished.blocks)
            except (SlackApiError, SlackRequestError) as exc:
                log.info("Slack did not end the stream (%s); the answer goes whole", _reason(exc))
                self._streaming = False
        if not self._streaming or done.revised:
            # a revised answer's checked text replaces what was streamed
            self._deliver_whole(finished.whole)

    def _deliver_whole(self, message: Message) -> None:
        """Rewrites the streamed message if one was started, else posts the reply."""
        if self._stream.ts is not None:
            try:
                self._client.chat_update(
                    channel=self._thread.channel, ts=self._stream.ts, **message
                )
                return
            except SlackApiError as exc:
                log.warning("could not rewrite the streamed reply: %s", _reason(exc))
        post_message(self._client, self._thread, message)


def post_message(client: WebClient, thread: Thread, message: Message) -> None:
    """Posts the reply; if Slack refuses its blocks, the plain text still gets through."""
    try:
        client.chat_postMessage(channel=thread.channel, thread_ts=thread.thread_ts, **message)
    except SlackApiError as exc:
        log.warning("Slack refused the reply (%s); posting it as plain text", _reason(exc))
        client.chat_postMessage(
            channel=thread.channel, thread_ts=thread.thread_ts, text=message["text"]
        )


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return str(exc)
