"""The Slack front door, end to end: `create_app` under uvicorn on a loopback port (the real
embedding model, a real Chroma store, the bundled corpus) receives signed Slack requests
over real HTTP and answers through a fake Slack Web API on 127.0.0.1 (tests/fake_slack.py).
The Socket Mode listeners are driven through `App.dispatch` against the same kind of fake.

Replies are posted after the HTTP ack, so every test waits for the calls the fake records.
"""

import itertools
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from slack_bolt import App, BoltRequest

from server.assistant import Assistant
from server.components import feedback_store
from server.errors import NotReadyError
from server.evaluation.question_sets import load_question_set
from server.settings import Settings
from server.slack.bot import create_slack_app
from tests.fake_slack import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    RESPONSE_URL_METHOD,
    TEAM_ID,
    FakeSlack,
    Message,
    SlackCall,
    block_texts,
)
from tests.fake_slack import signature_headers as slack_signature
from tests.servers import running_server

pytestmark = pytest.mark.e2e

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
API_KEY = "test-api-key"
MENTION = f"<@{BOT_USER_ID}>"
WORKING = "hourglass_flowing_sand"
NO_ANSWER = "The documents do not answer"
_ids = itertools.count(1)


# ---------------------------------------------------------------- Slack payloads


def new_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):04d}{uuid.uuid4().hex[:6].upper()}"


def event_callback(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """The envelope Slack wraps every Events API event in."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": new_id("4-"),
    }


def app_mention(
    fake: FakeSlack, channel: str, text: str, thread_ts: str | None = None, **extra: Any
) -> dict[str, Any]:
    ts = fake.new_ts()
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
        **({"thread_ts": thread_ts} if thread_ts else {}),
    }
    return {**event, **extra}


def direct_message(fake: FakeSlack, channel: str, text: str, **extra: Any) -> dict[str, Any]:
    ts = fake.new_ts()
    event = {
        "type": "message",
        "user": "U1",
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "im",
        "team": TEAM_ID,
    }
    return {**event, **extra}


def signature_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Signed with the tests' app secret unless another is given."""
    return slack_signature(body, secret, timestamp)


def answer_text(reply: SlackCall | Message) -> str:
    """The answer alone: the first block (the fallback text also quotes the sources)."""
    texts = block_texts(reply.get("blocks"))
    assert texts, reply
    return texts[0]


def assert_cited_reply(reply: Message, *words: str) -> None:
    """An answer naming `words`, with [1], whose blocks list its sources after it."""
    text, blocks = reply.get("text"), reply.get("blocks")
    assert isinstance(text, str) and isinstance(blocks, list), reply
    for word in words:
        assert word in text, text
    assert "[1]" in text, text
    texts = block_texts(blocks)
    assert all(word in texts[0] for word in words), texts  # the answer comes first
    assert any("Sources" in t for t in texts[1:]), texts
    cited = [t for t in texts if "[1]" in t and "Lee Jae Myung" in t]
    assert cited, texts  # the citation names the document's title


# ---------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read SLACK_* too: none of the developer's may reach a test's Settings."""
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slack") / "store"


@pytest.fixture(scope="module")
def live_app(
    fake: FakeSlack, store_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FastAPI]]:
    """The real app (with an API key, which /slack/events must not need) on loopback."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("SUMMIT_", "SLACK_")):
                patch.delenv(name)
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.chdir(tmp_path_factory.mktemp("slack-cwd"))  # no developer .env
        settings = Settings.of(
            store=store_dir,
            rate_limit_per_minute=0,
            api_key=API_KEY,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
        )
        auth = {"Authorization": f"Bearer {API_KEY}"}
        with running_server(settings, headers=auth) as server:
            yield server.url, server.app


@pytest.fixture(scope="module")
def slack(live_app: tuple[str, FastAPI]) -> Iterator["SlackSender"]:
    with httpx.Client(base_url=live_app[0], timeout=30) as client:
        yield SlackSender(client)


class SlackSender:
    """Posts to /slack/events as Slack does: the raw body, signed."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(
        self,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        sign: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(signature_headers(body) if sign is None else sign),
            **(headers or {}),
        }
        return self.client.post("/slack/events", content=body, headers=all_headers)

    def event(
        self, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        response = self.post(json.dumps(payload).encode(), "application/json", headers)
        assert response.status_code == 200, response.text
        return response

    def command(self, form: dict[str, str]) -> httpx.Response:
        body = urlencode(form)  # application/x-www-form-urlencoded
        return self.post(body.encode(), "application/x-www-form-urlencoded")


def replies(fake: FakeSlack, channel: str, thread_ts: str | None = None) -> list[Message]:
    """The bot's finished replies there: streamed and stopped, or posted whole."""
    return fake.bot_replies(channel, thread_ts)


def wait_reply(fake: FakeSlack, event: dict[str, Any], count: int = 1) -> Message:
    """The `count`-th reply in the thread of `event`, once it is finished."""
    thread_ts = event.get("thread_ts") or event["ts"]
    return fake.wait_for_replies(event["channel"], thread_ts, count)[count - 1]


def settle(fake: FakeSlack, event: dict[str, Any]) -> None:
    """Waits until the bot has finished with `event` (its reaction is taken off again)."""
    fake.wait_for("reactions.remove", timeout=15, channel=event["channel"], timestamp=event["ts"])


def assert_only_control_answered(
    fake: FakeSlack, ignored: dict[str, Any], control: dict[str, Any]
) -> None:
    """`ignored` was sent just before `control`: once the control's reply is out and the bot
    has gone quiet, a reply to `ignored` (or its reaction, the first step of one) would be
    recorded too."""
    wait_reply(fake, control)
    settle(fake, control)
    fake.wait_quiet()
    channel = control["channel"]
    assert [c.get("thread_ts") for c in replies(fake, channel)] == [control["ts"]]
    assert fake.calls("reactions.add", channel=channel, timestamp=ignored["ts"]) == []


# ---------------------------------------------------------------- HTTP events, end to end


def test_url_verification_is_answered_with_the_challenge(slack: SlackSender) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = {"token": "legacy-verification-token", "challenge": challenge}
    response = slack.event({**body, "type": "url_verification"})
    assert response.status_code == 200
    if response.headers["content-type"].startswith("application/json"):
        assert response.json() == {"challenge": challenge}
    else:
        assert response.text == challenge


def test_a_mention_is_answered_in_its_thread_with_sources(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    event = app_mention(fake, channel, f"{MENTION} Where was the summit held?")
    assert slack.event(event_callback(event)).status_code == 200
    reply = wait_reply(fake, event)
    assert_cited_reply(reply, "Nara")
    settle(fake, event)
    assert len(replies(fake, channel)) == 1
    [added] = fake.calls("reactions.add", channel=channel, timestamp=event["ts"])
    [removed] = fake.calls("reactions.remove", channel=channel, timestamp=event["ts"])
    assert added.get("name") == removed.get("name") == WORKING
    assert added.seq < reply["done_seq"] < removed.seq
    assert fake.reactions(channel, event["ts"]) == set()
    # the bot learnt who it is from the fake (auth.test with its token): nothing left loopback
    assert any(c.headers.get("authorization") == f"Bearer {BOT_TOKEN}" for c in fake.calls())
    assert fake.calls("auth.test")


def test_the_api_key_guards_the_api_but_not_slack_events(
    live_app: tuple[str, FastAPI], slack: SlackSender
) -> None:
    url = live_app[0]
    assert httpx.post(f"{url}/chat", json={"message": "Where?"}).status_code == 401
    challenge = slack.event({"type": "url_verification", "challenge": "c"})
    assert challenge.status_code == 200


def test_a_follow_up_in_the_thread_is_answered_from_the_thread(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    first = app_mention(fake, channel, f"{MENTION} Where were the remains found?")
    fake.seed_thread(
        channel, first["ts"], [{"user": "U1", "text": first["text"], "ts": first["ts"]}]
    )
    slack.event(event_callback(first))
    assert "remains found" in answer_text(wait_reply(fake, first))
    settle(fake, first)

    follow_up = app_mention(
        fake, channel, f"{MENTION} What analysis will be done on them?", thread_ts=first["ts"]
    )
    fake.seed_thread(
        channel, first["ts"], [{"user": "U1", "text": follow_up["text"], "ts": follow_up["ts"]}]
    )
    slack.event(event_callback(follow_up))
    reply = wait_reply(fake, follow_up, count=2)
    assert "DNA analysis" in answer_text(reply), reply  # alone, the question gets no answer
    assert fake.calls("conversations.replies", channel=channel, ts=first["ts"])
    settle(fake, follow_up)
    assert fake.reactions(channel, follow_up["ts"]) == set()
    assert len(replies(fake, channel)) == 2


def test_a_follow_up_in_a_long_thread_draws_on_its_latest_messages(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    root = fake.new_ts()
    earlier = []
    for _ in range(22):  # 44 messages about another subject first
        earlier.append({"user": "U1", "text": f"{MENTION} What could impact Japan's politics?"})
        earlier.append({"user": BOT_USER_ID, "bot_id": BOT_ID, "text": "A snap election. [1]"})
    earlier[0]["ts"] = root
    earlier.append({"user": "U1", "text": f"{MENTION} Where were the remains found?"})
    earlier.append({"user": BOT_USER_ID, "bot_id": BOT_ID, "text": "At a former mine. [1]"})
    fake.seed_thread(channel, root, earlier)
    follow_up = app_mention(
        fake, channel, f"{MENTION} What analysis will be done on them?", thread_ts=root
    )
    fake.seed_thread(
        channel, root, [{"user": "U1", "text": follow_up["text"], "ts": follow_up["ts"]}]
    )
    slack.event(event_callback(follow_up))
    reply = wait_reply(fake, follow_up)
    assert "DNA analysis" in answer_text(reply), reply


def test_a_retried_or_duplicated_event_gets_no_second_reply(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    event = app_mention(fake, channel, f"{MENTION} Where was the summit held?")
    payload = event_callback(event)
    slack.event(payload)
    wait_reply(fake, event)
    settle(fake, event)

    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert slack.event(payload, headers=retry).status_code == 200
    # the same message delivered again under another event id
    assert slack.event(event_callback(event)).status_code == 200
    control = app_mention(fake, channel, f"{MENTION} Where were the remains found?")
    slack.event(event_callback(control))
    wait_reply(fake, control)
    settle(fake, control)  # the duplicates were dispatched before the control was
    fake.wait_quiet()
    assert len(replies(fake, channel, event["ts"])) == 1
    assert len(replies(fake, channel)) == 2
    assert len(fake.calls("reactions.add", channel=channel, timestamp=event["ts"])) == 1


def _bad_signature(body: bytes) -> dict[str, str]:
    return signature_headers(body, secret="not-the-signing-secret")


def _stale_signature(body: bytes) -> dict[str, str]:
    return signature_headers(body, timestamp=int(time.time()) - 6 * 60)


def _tampered_body_signature(body: bytes) -> dict[str, str]:
    return signature_headers(body.replace(b"summit", b"Summit"))


@pytest.mark.parametrize(
    "signing",
    [_bad_signature, lambda _: {}, _stale_signature, _tampered_body_signature],
    ids=["wrong-secret", "no-signature-headers", "stale-timestamp", "body-changed-after-signing"],
)
def test_an_unverified_request_is_refused_and_not_answered(
    slack: SlackSender, fake: FakeSlack, signing: Any
) -> None:
    channel = new_id("C")
    event = app_mention(fake, channel, f"{MENTION} Where was the summit held?")
    body = json.dumps(event_callback(event)).encode()
    response = slack.post(body, "application/json", sign=signing(body))
    assert response.status_code == 401, response.text
    control = app_mention(fake, channel, f"{MENTION} Where were the remains found?")
    slack.event(event_callback(control))
    assert_only_control_answered(fake, event, control)


def test_an_unverified_url_verification_is_refused(slack: SlackSender) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "secret-challenge"}).encode()
    response = slack.post(body, "application/json", sign=_bad_signature(body))
    assert response.status_code == 401 and "secret-challenge" not in response.text


QUESTION = "Where was the summit held?"
IGNORED = {
    "bot-message-subtype": {
        "subtype": "bot_message",
        "bot_id": "B999",
        "username": "otherbot",
        "user": None,
    },
    "message-with-bot-id": {"user": "U2", "bot_id": "B998"},
    "own-message": {"user": BOT_USER_ID},
    "message-changed": {
        "subtype": "message_changed",
        "user": None,
        "hidden": True,
        "message": {"type": "message", "user": "U1", "text": QUESTION, "ts": "1.000001"},
        "previous_message": {"type": "message", "user": "U1", "text": "Where?", "ts": "1.000001"},
    },
    "message-deleted": {
        "subtype": "message_deleted",
        "user": None,
        "hidden": True,
        "deleted_ts": "1.000002",
        "previous_message": {"type": "message", "user": "U1", "text": QUESTION, "ts": "1.000002"},
    },
    "other-subtype": {"subtype": "channel_join"},
}


@pytest.mark.parametrize("extra", IGNORED.values(), ids=IGNORED.keys())
def test_bots_edits_and_deletions_get_no_reply(
    slack: SlackSender, fake: FakeSlack, extra: dict[str, Any]
) -> None:
    channel = new_id("D")
    # edits, deletions and bot messages carry no top-level user (None: left out)
    ignored = {k: v for k, v in direct_message(fake, channel, QUESTION, **extra).items() if v}
    slack.event(event_callback(ignored))
    control = direct_message(fake, channel, QUESTION)
    slack.event(event_callback(control))
    assert_only_control_answered(fake, ignored, control)


def test_a_mention_from_a_bot_gets_no_reply(slack: SlackSender, fake: FakeSlack) -> None:
    channel = new_id("C")
    ignored = app_mention(fake, channel, f"{MENTION} {QUESTION}", bot_id="B997")
    slack.event(event_callback(ignored))
    control = app_mention(fake, channel, f"{MENTION} {QUESTION}")
    slack.event(event_callback(control))
    assert_only_control_answered(fake, ignored, control)


def test_a_direct_message_is_answered(slack: SlackSender, fake: FakeSlack) -> None:
    channel = new_id("D")
    event = direct_message(fake, channel, QUESTION)
    slack.event(event_callback(event))
    assert_cited_reply(wait_reply(fake, event), "Nara")
    settle(fake, event)
    assert len(replies(fake, channel)) == 1


def test_a_channel_message_without_a_mention_is_left_alone(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    ignored = direct_message(fake, channel, QUESTION, channel_type="channel")
    slack.event(event_callback(ignored))
    control = app_mention(fake, channel, f"{MENTION} {QUESTION}")
    slack.event(event_callback(control))
    assert_only_control_answered(fake, ignored, control)


def test_an_off_topic_question_shows_the_closest_passages(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    event = app_mention(fake, channel, f"{MENTION} What is the tallest mountain in Africa?")
    slack.event(event_callback(event))
    reply = wait_reply(fake, event)
    assert NO_ANSWER in reply.get("text")
    texts = block_texts(reply.get("blocks"))
    assert NO_ANSWER in texts[0]
    assert any("Closest passages" in t for t in texts) and not any("Sources" in t for t in texts)
    assert any("[1]" in t and "Lee Jae Myung" in t for t in texts), texts
    assert "Kilimanjaro" not in reply.get("text")


def test_the_slash_command_is_acked_then_answered_at_its_response_url(
    slack: SlackSender, fake: FakeSlack
) -> None:
    response_id = new_id("R")
    form = {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "summit-test",
        "channel_id": new_id("C"),
        "channel_name": "general",
        "user_id": "U1",
        "user_name": "asker",
        "command": "/summit",
        "text": QUESTION,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": fake.response_url(response_id),
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    response = slack.command(form)
    assert response.status_code == 200, response.text
    [answer] = fake.wait_for(RESPONSE_URL_METHOD, response_id=response_id)
    assert answer.get("response_type") == "ephemeral"
    assert "Nara" in answer_text(answer) and "[1]" in answer.get("text")
    assert any("Sources" in t for t in block_texts(answer.get("blocks")))
    assert fake.calls("chat.postMessage", channel=form["channel_id"]) == []
    assert fake.calls("chat.startStream", channel=form["channel_id"]) == []


def test_an_unsigned_slash_command_is_refused(slack: SlackSender, fake: FakeSlack) -> None:
    response_id = new_id("R")
    form = {"command": "/summit", "text": QUESTION, "response_url": fake.response_url(response_id)}
    body = urlencode(form).encode()
    response = slack.post(body, "application/x-www-form-urlencoded", sign=_bad_signature(body))
    assert response.status_code == 401
    assert fake.calls(RESPONSE_URL_METHOD, response_id=response_id) == []


# ---------------------------------------------------------------- Socket Mode listeners


@pytest.fixture(scope="module")
def socket_fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="module")
def assistant(live_app: tuple[str, FastAPI]) -> Assistant:
    """The assistant the live app loaded over the ingested store (no second load)."""
    loaded: Assistant = live_app[1].state.runtime.assistant
    return loaded


def socket_app(fake: FakeSlack, store_dir: Path, provider: Any) -> App:
    settings = Settings.of(
        store=store_dir,
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-1-test",
        slack_api_url=fake.api_url,
    )
    return create_slack_app(settings.slack, provider, feedback_store(settings))


def dispatch(app: App, payload: dict[str, Any]) -> None:
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200, response.body


def test_socket_mode_answers_a_mention_in_its_thread(
    socket_fake: FakeSlack, store_dir: Path, assistant: Assistant
) -> None:
    app = socket_app(socket_fake, store_dir, lambda: assistant)
    channel = new_id("C")
    event = app_mention(socket_fake, channel, f"{MENTION} {QUESTION}")
    dispatch(app, event_callback(event))
    assert_cited_reply(wait_reply(socket_fake, event), "Nara")
    settle(socket_fake, event)
    assert len(replies(socket_fake, channel)) == 1
    assert socket_fake.calls("auth.test")


def test_socket_mode_ignores_a_bot_message(
    socket_fake: FakeSlack, store_dir: Path, assistant: Assistant
) -> None:
    app = socket_app(socket_fake, store_dir, lambda: assistant)
    channel = new_id("D")
    ignored = direct_message(socket_fake, channel, QUESTION, subtype="bot_message", bot_id="B9")
    dispatch(app, event_callback(ignored))
    control = direct_message(socket_fake, channel, QUESTION)
    dispatch(app, event_callback(control))
    assert_only_control_answered(socket_fake, ignored, control)


def test_socket_mode_says_so_while_the_assistant_is_starting(
    socket_fake: FakeSlack, store_dir: Path
) -> None:
    def starting() -> Assistant:
        raise NotReadyError("The assistant is starting; try again in a few seconds.")

    app = socket_app(socket_fake, store_dir, starting)
    channel = new_id("C")
    event = app_mention(socket_fake, channel, f"{MENTION} {QUESTION}")
    dispatch(app, event_callback(event))
    reply = wait_reply(socket_fake, event)
    assert "again" in reply.get("text").lower() and "[1]" not in reply.get("text")
    settle(socket_fake, event)
    assert socket_fake.reactions(channel, event["ts"]) == set()


class HeldBack:
    """The assistant, answering only once the test lets it."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant
        self.released = threading.Event()

    def ask(self, question: str, history: Any = ()) -> Any:
        assert self.released.wait(120), "the test never released the answer"
        return self._assistant.ask(question, history)

    def ask_stream(self, question: str, history: Any = ()) -> Any:
        assert self.released.wait(120), "the test never released the answer"
        return self._assistant.ask_stream(question, history)


def test_an_event_is_acknowledged_before_its_answer_is_written(
    socket_fake: FakeSlack, store_dir: Path, assistant: Assistant
) -> None:
    """Slack retries a request not acknowledged within 3 seconds: the acknowledgement must
    not wait for the answer, however long that takes."""
    held = HeldBack(assistant)
    app = socket_app(socket_fake, store_dir, lambda: held)
    channel = new_id("C")
    event = app_mention(socket_fake, channel, f"{MENTION} {QUESTION}")
    dispatch(app, event_callback(event))  # returns once bolt has acknowledged
    assert replies(socket_fake, channel) == []  # the answer is still held back
    held.released.set()
    assert_cited_reply(wait_reply(socket_fake, event), "Nara")


def test_a_slash_command_is_acknowledged_before_its_answer_is_written(
    socket_fake: FakeSlack, store_dir: Path, assistant: Assistant
) -> None:
    held = HeldBack(assistant)
    app = socket_app(socket_fake, store_dir, lambda: held)
    response_id = new_id("R")
    command = {
        "team_id": TEAM_ID,
        "channel_id": new_id("C"),
        "user_id": "U1",
        "command": "/summit",
        "text": QUESTION,
        "api_app_id": APP_ID,
        "response_url": socket_fake.response_url(response_id),
    }
    response = app.dispatch(BoltRequest(body=command, mode="socket_mode"))
    assert response.status == 200 and "Looking that up" in response.body
    assert socket_fake.calls(RESPONSE_URL_METHOD, response_id=response_id) == []
    held.released.set()
    [answer] = socket_fake.wait_for(RESPONSE_URL_METHOD, response_id=response_id)
    assert "Nara" in answer_text(answer)


# ---------------------------------------------------------------- streaming and feedback, HTTP


def test_a_direct_message_is_streamed_then_closed_with_sources_and_buttons(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("D")
    event = direct_message(fake, channel, "What did the two leaders agree to strengthen?")
    slack.event(event_callback(event))
    reply = wait_reply(fake, event)
    [start] = fake.calls("chat.startStream", channel=channel)
    appends = fake.calls("chat.appendStream", channel=channel, ts=reply["ts"])
    [stop] = fake.calls("chat.stopStream", channel=channel, ts=reply["ts"])
    assert start.get("thread_ts") == event["ts"] and start.get("recipient_user_id") == "U1"
    assert len(appends) >= 2 and start.seq < appends[0].seq and appends[-1].seq < stop.seq
    pieces = [chunk["text"] for c in [start, *appends, stop] for chunk in c.get("chunks") or []]
    assert "".join(pieces) == reply["text"]
    assert "economic security" in reply["text"] and "[1]" in reply["text"]
    closing = block_texts(stop.get("blocks"))
    assert any("Sources" in t for t in closing) and any("Lee Jae Myung" in t for t in closing)
    [buttons] = [b for b in stop.get("blocks") if b["type"] == "context_actions"]
    assert buttons["elements"][0]["negative_button"]["value"].startswith("down:")
    assert fake.calls("chat.postMessage", channel=channel) == []  # streamed, not posted


def test_a_thumbs_down_over_http_is_listed_by_summit_feedback(
    slack: SlackSender, fake: FakeSlack, store_dir: Path, tmp_path: Path
) -> None:
    channel = new_id("D")
    event = direct_message(fake, channel, QUESTION)
    slack.event(event_callback(event))
    reply = wait_reply(fake, event)
    [buttons] = [b for b in reply["blocks"] if b["type"] == "context_actions"]
    value = buttons["elements"][0]["negative_button"]["value"]
    action = {"type": "feedback_buttons", "action_id": "summit_feedback", "value": value}
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "U5", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "container": {"type": "message", "message_ts": reply["ts"], "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": reply["ts"], "thread_ts": event["ts"], "text": reply["text"]},
        "actions": [action],
    }
    form = urlencode({"payload": json.dumps(payload)}).encode()
    assert slack.post(form, "application/x-www-form-urlencoded").status_code == 200
    [thanks] = fake.wait_for("chat.postEphemeral", channel=channel)
    assert thanks.get("user") == "U5" and thanks.get("thread_ts") == event["ts"]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMMIT_", "SLACK_"))}
    env.update(HF_HUB_OFFLINE="1")
    summit = [str(Path(sys.executable).with_name("summit")), "feedback", "--store", str(store_dir)]
    listed = subprocess.run([*summit, "--json"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    [record] = [r for r in json.loads(listed.stdout) if r["answer_id"] == value[5:]]
    assert record["rating"] == "down" and record["user"] == "U5"
    assert record["question"] == QUESTION and "Nara" in record["answer"]
    assert any("Lee Jae Myung" in (c["title"] or "") for c in record["citations"])

    exported = tmp_path / "wrong.jsonl"
    text = subprocess.run(
        [*summit, "--rating", "down", "--export", str(exported)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert text.returncode == 0, text.stderr
    assert "👎" in text.stdout and QUESTION in text.stdout
    [question] = load_question_set(exported)
    assert question.question == QUESTION and question.answers == [] and question.answerable
