"""Slack as an AI app, through the Socket Mode listeners (`App.dispatch`) against the fake
Slack Web API on loopback (tests/fake_slack.py), with the real model over a real Chroma
store: the bundled article and a few dated reports written here.

The assistant pane's events (thread started, a question in it), streamed replies and
their fallback, the 👍/👎 buttons and a retried event; tests/test_slack.py has the same
doors over HTTP.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App, BoltRequest

from server.assistant import Assistant
from server.components import build_assistant, feedback_store, ingest
from server.feedback import FeedbackStore
from server.settings import Settings
from server.slack.bot import create_slack_app
from tests.fake_slack import APP_ID, BOT_TOKEN, TEAM_ID, FakeSlack, Message
from tests.test_slack import block_texts, direct_message, event_callback, new_id

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent

# Written for these tests (none is news that happened): the newest is dated last.
REPORTS = {
    "fishery-talks.md": (
        "Fishery talks resume in Busan",
        "2026-11-02",
        "Negotiators from both countries resumed fishery talks in Busan on Monday. "
        "They discussed quotas for squid and mackerel in the shared waters.",
    ),
    "rail-study.md": (
        "Joint study of an undersea rail tunnel announced",
        "2026-11-04",
        "The two governments announced a joint feasibility study of an undersea rail "
        "tunnel. Engineers will report on the geology of the strait within two years.",
    ),
    "students.md": (
        "Student exchange quota doubled to 4,000",
        "2026-11-06",
        "The ministries of education doubled the student exchange quota to 4,000 places a "
        "year. The first students under the new quota arrive in April.",
    ),
    "youth-forum.md": (
        "Youth forum held in Fukuoka",
        "2026-11-05",
        "A youth forum of 300 students from both countries was held in Fukuoka. "
        "Its closing statement called for visa-free working holidays.",
    ),
}
NEWEST_FIRST = [
    "Student exchange quota doubled to 4,000",
    "Youth forum held in Fukuoka",
    "Joint study of an undersea rail tunnel announced",
    "Fishery talks resume in Busan",
]


@pytest.fixture(autouse=True)
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("SLACK_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("SUMMIT_", "SLACK_")):
                patch.delenv(name)
        patch.setenv("HF_HUB_OFFLINE", "1")
        store = tmp_path_factory.mktemp("pane") / "store"
        yield Settings.of(store=store, slack_bot_token=BOT_TOKEN)


@pytest.fixture(scope="module")
def assistant(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The bundled article and the reports above, ingested as `summit ingest` would."""
    reports = tmp_path_factory.mktemp("reports")
    for name, (title, day, text) in REPORTS.items():
        front = f'---\ntitle: "{title}"\ndate: {day}\noutlet: Test Wire\n---\n\n'
        (reports / name).write_text(front + text + "\n", encoding="utf-8")
    ingest(settings, [ROOT / "corpus", reports])
    return build_assistant(settings)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def bot(fake: FakeSlack, settings: Settings, assistant: Assistant, feedback: Any = None) -> App:
    configured = settings.changed(slack_api_url=fake.api_url)
    kept = feedback or feedback_store(configured)
    return create_slack_app(configured.slack, lambda: assistant, kept)


def dispatch(app: App, payload: dict[str, Any]) -> None:
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200, response.body


def thread_started(channel: str, thread_ts: str) -> dict[str, Any]:
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": "U1",
            "context": {"channel_id": "C0FROM", "team_id": TEAM_ID, "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": thread_ts,
    }


def pane_question(fake: FakeSlack, channel: str, thread_ts: str, text: str) -> dict[str, Any]:
    return direct_message(fake, channel, text, thread_ts=thread_ts)


def open_pane(fake: FakeSlack, app: App) -> tuple[str, str]:
    """A new pane thread, greeted the way Slack's pane opens: the bot's greeting first."""
    channel, thread_ts = new_id("D"), fake.new_ts()
    dispatch(app, event_callback(thread_started(channel, thread_ts)))
    fake.wait_for("chat.postMessage", channel=channel, thread_ts=thread_ts)
    fake.wait_for("assistant.threads.setSuggestedPrompts", channel_id=channel)
    return channel, thread_ts


def streamed_text(fake: FakeSlack, channel: str) -> str:
    calls = [
        c
        for c in fake.calls(channel=channel)
        if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")
    ]
    return "".join(chunk["text"] for c in calls for chunk in c.get("chunks") or [])


def feedback_value(reply: Message, rating: str) -> str:
    [buttons] = [b for b in reply["blocks"] if b["type"] == "context_actions"]
    side = "positive_button" if rating == "up" else "negative_button"
    value = str(buttons["elements"][0][side]["value"])
    assert value.startswith(f"{rating}:")
    return value


# ---------------------------------------------------------------- the pane


def test_a_new_pane_thread_is_greeted_with_the_latest_headlines_as_prompts(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = new_id("D"), fake.new_ts()
    dispatch(app, event_callback(thread_started(channel, thread_ts)))
    [greeting] = fake.wait_for("chat.postMessage", channel=channel, thread_ts=thread_ts)
    assert "5 documents" in greeting.get("text")
    [prompts] = fake.wait_for("assistant.threads.setSuggestedPrompts", channel_id=channel)
    assert prompts.get("thread_ts") == thread_ts
    assert [p["message"] for p in prompts.get("prompts")] == NEWEST_FIRST
    assert all(p["title"] for p in prompts.get("prompts"))


def test_a_suggested_prompt_is_answered_from_its_report(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = open_pane(fake, app)
    [prompts] = fake.wait_for("assistant.threads.setSuggestedPrompts", channel_id=channel)
    newest = prompts.get("prompts")[0]["message"]
    dispatch(app, event_callback(pane_question(fake, channel, thread_ts, newest)))
    [reply] = fake.wait_for_replies(channel, thread_ts, count=2)[1:]
    assert "4,000" in reply["text"] and "[1]" in reply["text"]
    assert any("Student exchange quota" in t for t in block_texts(reply["blocks"]))


def test_a_question_in_the_pane_gets_a_status_a_title_and_a_streamed_answer(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = open_pane(fake, app)
    question = "What did the two leaders agree to strengthen cooperation in?"
    event = pane_question(fake, channel, thread_ts, question)
    fake.seed_thread(channel, thread_ts, [{"user": "U1", "text": question, "ts": event["ts"]}])
    dispatch(app, event_callback(event))
    [reply] = fake.wait_for_replies(channel, thread_ts, count=2)[1:]
    statuses = fake.wait_for("assistant.threads.setStatus", count=2, channel_id=channel)
    assert statuses[0].get("status") == "Searching 5 documents…"
    assert statuses[-1].get("status") == ""  # cleared once the answer is out
    [title] = fake.calls("assistant.threads.setTitle", channel_id=channel)
    assert title.get("title") == question and title.get("thread_ts") == thread_ts
    [start] = fake.calls("chat.startStream", channel=channel)
    assert start.get("thread_ts") == thread_ts
    assert statuses[0].seq < start.seq < statuses[-1].seq
    assert len(fake.calls("chat.appendStream", channel=channel)) >= 2
    assert streamed_text(fake, channel) == reply["text"]
    assert "economic security" in reply["text"] and "[1]" in reply["text"]
    assert fake.calls("reactions.add", channel=channel) == []  # the pane shows a status


def test_a_follow_up_in_the_pane_keeps_the_title_and_reads_the_thread(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = open_pane(fake, app)
    first = pane_question(fake, channel, thread_ts, "Where were the remains found?")
    fake.seed_thread(channel, thread_ts, [{"user": "U1", "text": first["text"], "ts": first["ts"]}])
    dispatch(app, event_callback(first))
    fake.wait_for_replies(channel, thread_ts, count=2)
    follow_up = pane_question(fake, channel, thread_ts, "What analysis will be done on them?")
    fake.seed_thread(
        channel, thread_ts, [{"user": "U1", "text": follow_up["text"], "ts": follow_up["ts"]}]
    )
    dispatch(app, event_callback(follow_up))
    reply = fake.wait_for_replies(channel, thread_ts, count=3)[2]
    assert "DNA analysis" in reply["text"], reply  # alone, the question gets no answer
    assert len(fake.calls("assistant.threads.setTitle", channel_id=channel)) == 1


def test_a_retried_pane_question_is_answered_once(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = open_pane(fake, app)
    event = pane_question(fake, channel, thread_ts, "Where was the summit held?")
    payload = event_callback(event)
    dispatch(app, payload)
    fake.wait_for_replies(channel, thread_ts, count=2)
    dispatch(app, payload)  # Slack's retry: same event id
    dispatch(app, event_callback(event))  # the same message delivered anew
    fake.wait_quiet()
    assert len(fake.bot_replies(channel, thread_ts)) == 2  # the greeting and one answer
    assert len(fake.calls("chat.startStream", channel=channel)) == 1


def test_a_dm_thread_of_an_app_without_the_pane_gets_the_reaction_instead(
    settings: Settings, assistant: Assistant
) -> None:
    with FakeSlack() as no_pane:
        no_pane.refuse("assistant.threads.setStatus", "not_allowed_token_type")
        no_pane.refuse("assistant.threads.setTitle", "not_allowed_token_type")
        app = bot(no_pane, settings, assistant)
        channel, root = new_id("D"), no_pane.new_ts()
        event = pane_question(no_pane, channel, root, "Where was the summit held?")
        dispatch(app, event_callback(event))
        [reply] = no_pane.wait_for_replies(channel, root)
        assert "Nara" in reply["text"]
        [added] = no_pane.calls("reactions.add", channel=channel, timestamp=event["ts"])
        assert added.get("name") == "hourglass_flowing_sand"
        no_pane.wait_for("reactions.remove", channel=channel, timestamp=event["ts"])
        assert no_pane.reactions(channel, event["ts"]) == set()


def test_a_pane_moved_beside_another_channel_needs_nothing_done(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel, thread_ts = open_pane(fake, app)
    before = len(fake.calls())
    changed = thread_started(channel, thread_ts) | {"type": "assistant_thread_context_changed"}
    dispatch(app, event_callback(changed))  # acknowledged: Slack does not retry it
    fake.wait_quiet()
    assert [c.method for c in fake.calls()[before:]] == []


# ---------------------------------------------------------------- streaming and fallback


def test_a_workspace_that_cannot_stream_gets_one_whole_message(
    settings: Settings, assistant: Assistant
) -> None:
    with FakeSlack(stream_error="unknown_method") as no_streams:
        app = bot(no_streams, settings, assistant)
        channel = new_id("D")
        event = direct_message(no_streams, channel, "Where was the summit held?")
        dispatch(app, event_callback(event))
        [reply] = no_streams.wait_for_replies(channel, event["ts"])
        assert no_streams.calls("chat.startStream", channel=channel)  # it was tried
        assert no_streams.calls("chat.appendStream") == []
        [posted] = no_streams.calls("chat.postMessage", channel=channel)
        texts = block_texts(reply["blocks"])
        assert "Nara" in texts[0] and any("Sources" in t for t in texts)
        assert feedback_value(reply, "down")
        assert posted.get("thread_ts") == event["ts"]
        no_streams.wait_for("reactions.remove", channel=channel, timestamp=event["ts"])


def test_a_mention_in_a_channel_streams_to_the_person_who_asked(
    fake: FakeSlack, settings: Settings, assistant: Assistant
) -> None:
    app = bot(fake, settings, assistant)
    channel = new_id("C")
    ts = fake.new_ts()
    event = {
        "type": "app_mention",
        "user": "U7",
        "text": "<@UBOT> Where was the summit held?",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    dispatch(app, event_callback(event))
    [reply] = fake.wait_for_replies(channel, ts)
    [start] = fake.calls("chat.startStream", channel=channel)
    assert start.get("recipient_user_id") == "U7" and start.get("recipient_team_id") == TEAM_ID
    assert "Nara" in reply["text"]
    [stop] = fake.calls("chat.stopStream", channel=channel)
    assert any("Sources" in t for t in block_texts(stop.get("blocks")))


# ---------------------------------------------------------------- feedback


def click(app: App, reply: Message, value: str, channel: str, user: str = "U1") -> None:
    """A block_actions payload as Slack sends it for a feedback button."""
    action = {
        "type": "feedback_buttons",
        "action_id": "summit_feedback",
        "block_id": "b1",
        "value": value,
        "action_ts": "1.1",
    }
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "container": {"type": "message", "message_ts": reply["ts"], "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": reply["ts"], "thread_ts": reply.get("thread_ts"), "text": reply["text"]},
        "actions": [action],
        "trigger_id": "1.2.3",
    }
    dispatch(app, payload)


def test_a_thumbs_down_is_kept_with_the_answer_and_survives_a_restart(
    fake: FakeSlack, settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    ratings = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = bot(fake, settings, assistant, ratings)
    channel = new_id("D")
    event = direct_message(fake, channel, "Where was the summit held?")
    dispatch(app, event_callback(event))
    [reply] = fake.wait_for_replies(channel, event["ts"])
    click(app, reply, feedback_value(reply, "down"), channel)
    [thanks] = fake.wait_for("chat.postEphemeral", channel=channel)
    assert thanks.get("user") == "U1" and "wrong" in thanks.get("text")

    [rated] = FeedbackStore(tmp_path / "feedback.sqlite3").ratings()  # a new process's view
    assert rated.rating == "down" and rated.user == "U1"
    assert rated.answer.question == "Where was the summit held?"
    assert "Nara" in rated.answer.answer and rated.answer.citations
    assert rated.place == f"slack:{TEAM_ID}/{channel}/{event['ts']}"

    click(app, reply, feedback_value(reply, "up"), channel)  # a change of mind
    fake.wait_for("chat.postEphemeral", count=2, channel=channel)
    assert [r.rating for r in FeedbackStore(tmp_path / "feedback.sqlite3").ratings()] == ["up"]


def test_a_click_on_an_answer_no_longer_kept_says_so(
    fake: FakeSlack, settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    app = bot(fake, settings, assistant, FeedbackStore(tmp_path / "feedback.sqlite3"))
    channel = new_id("D")
    reply = {"ts": fake.new_ts(), "text": "An old answer."}
    click(app, reply, "down:0123456789abcdef", channel)
    [told] = fake.wait_for("chat.postEphemeral", channel=channel)
    assert "no longer kept" in told.get("text")
    assert FeedbackStore(tmp_path / "feedback.sqlite3").ratings() == []


def test_the_default_feedback_file_lies_beside_the_store(settings: Settings) -> None:
    assert settings.storage.store in feedback_store(settings).path.parents
