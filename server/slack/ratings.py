"""A click on an answer's 👍/👎: recorded with the answer it rates, and thanked for in a
message only the rater sees."""

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from server.feedback import RATINGS, FeedbackStore, FeedbackStoreError

log = logging.getLogger(__name__)
Json = dict[str, Any]

THANKS = {
    "up": "Thanks! Noted that this answer was right.",
    "down": "Thanks! Noted that this answer was wrong; it is kept with its question and "
    "sources so it can be checked.",
}
TOO_OLD = "Sorry, that answer is no longer kept, so the rating could not be recorded."
NOT_RECORDED = "Sorry, the rating could not be recorded just now; please try again later."


class FeedbackButtons:
    def __init__(self, feedback: FeedbackStore) -> None:
        self._feedback = feedback

    def on_click(self, ack: Ack, action: Json, body: Json, client: WebClient) -> None:
        ack()
        user = str((body.get("user") or {}).get("id") or "")
        rating, _, answer_id = str(action.get("value") or "").partition(":")
        if rating not in RATINGS or not answer_id or not user:
            log.info("a feedback click that names no rating: %r", action.get("value"))
            return
        try:
            recorded = self._feedback.rate(answer_id, rating, user)
        except FeedbackStoreError as exc:
            log.warning("a rating was not recorded: %s", exc)
            _tell(client, body, user, NOT_RECORDED)
            return
        _tell(client, body, user, THANKS[rating] if recorded else TOO_OLD)


def _tell(client: WebClient, body: Json, user: str, text: str) -> None:
    """An ephemeral reply in the rated message's thread."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if not channel:
        return
    thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
    except SlackApiError as exc:
        log.info("the rating was recorded but not acknowledged: %s", exc.response.get("error"))
