from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from server.contract import Answer, Citation, CitationsEvent, DeltaEvent, DoneEvent
from server.errors import UnavailableError
from server.slack.blocks import FEEDBACK_ACTION, answer_message, closing_blocks, escape
from server.slack.deliveries import SeenEvents
from server.slack.streaming import Finished, StreamedReply, Thread
from tests.fake_slack import FakeSlack, block_errors

ROOT = Path(__file__).resolve().parent.parent


def citation(n: int, text: str = "The summit was held in Nara.") -> Citation:
    return Citation(
        n=n,
        doc_id="d",
        chunk_id=f"c{n}",
        source="/srv/a.md",
        title="Talks <b>",
        section="Venue",
        page=None,
        text=text,
        score=0.5,
    )


def test_an_answer_becomes_mrkdwn_with_a_sources_section_and_a_fallback() -> None:
    answer = Answer(
        question="q",
        answer="Held in Nara & more. [1]",
        answered=True,
        citations=[citation(1, "x" * 1000)],
    )
    message = answer_message(answer)
    texts = [b.get("text", {}).get("text", "") for b in message["blocks"]]
    assert texts[0] == "Held in Nara &amp; more. [1]"
    assert any("*Sources*" in e["text"] for b in message["blocks"] for e in b.get("elements", []))
    assert texts[-1].startswith("*[1]* Talks &lt;b&gt; — Venue\n>")
    assert len(texts[-1]) < 400  # the quote is shortened
    assert message["text"].startswith("Held in Nara & more. [1]") and "Sources:" in message["text"]


def test_an_unanswered_question_lists_closest_passages() -> None:
    answer = Answer(
        question="q",
        answer="The documents do not answer this question.",
        answered=False,
        citations=[citation(1)],
    )
    message = answer_message(answer)
    labels = [e["text"] for b in message["blocks"] for e in b.get("elements", [])]
    assert labels == ["*Closest passages*"]


def test_a_checked_model_answer_says_what_was_removed() -> None:
    answer = Answer(
        question="q",
        answer="Held in Nara. [1]",
        answered=True,
        citations=[citation(1)],
        mode="llm",
        dropped=["It rained <all> day."],
    )
    message = answer_message(answer)
    notes = [e["text"] for b in message["blocks"] for e in b.get("elements", [])]
    assert notes[0] == (
        "_Removed because no cited passage supports it: “It rained &lt;all&gt; day.”_"
    )
    assert "Removed because no cited passage supports it" in message["text"]


def test_escape_leaves_only_slack_control_characters_changed() -> None:
    assert escape("<@U1> & *bold*") == "&lt;@U1&gt; &amp; *bold*"


def test_an_event_is_seen_once_by_any_of_its_keys_until_it_expires() -> None:
    now = [0.0]
    seen = SeenEvents(ttl=60, clock=lambda: now[0])
    assert seen.first_time(["Ev1", "C1:1.0"])
    assert not seen.first_time(["Ev2", "C1:1.0"])  # same message, another delivery
    assert not seen.first_time(["Ev1", ""])
    now[0] = 120.0
    assert seen.first_time(["Ev1", "C1:1.0"])


# ---------------------------------------------------------------- streaming (against the fake)


def events(text: str, revised: bool = False, fail_after: int | None = None) -> Iterator[Any]:
    """An answer's events, in pieces of two words; optionally failing part-way."""
    done = Answer(question="q", answer=text, answered=True, citations=[citation(1)])
    yield CitationsEvent(answered=True, citations=done.citations)
    words = text.split(" ")
    for i in range(0, len(words), 2):
        if fail_after is not None and i >= fail_after:
            raise UnavailableError("the language model went away")
        yield DeltaEvent(text=" ".join(words[i : i + 2]) + " ")
    yield DoneEvent(
        answer=done.model_copy(update={"answer": "Checked: in Nara. [1]"}) if revised else done,
        revised=revised,
    )


def finish(answer: Answer) -> Finished:
    return Finished(closing_blocks(answer, "id1"), answer_message(answer, "id1"))


LONG = "The summit was held in Nara, the old capital, where the two leaders met for talks " * 3


def test_a_revised_answer_replaces_what_was_streamed() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        StreamedReply(client, Thread("D1", "1.0")).send(events(LONG, revised=True), finish)
        [reply] = fake.bot_replies("D1", "1.0")
        assert fake.calls("chat.stopStream") and fake.calls("chat.update", ts=reply["ts"])
        assert reply["text"].startswith("Checked: in Nara.")
        assert "Checked: in Nara." in str(reply["blocks"][0])


def test_a_streamed_answer_leads_with_its_short_answer() -> None:
    def with_short_answer() -> Iterator[Any]:
        for event in events(LONG):
            if isinstance(event, CitationsEvent):
                event = event.model_copy(update={"short_answer": "Nara"})
            yield event

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        StreamedReply(client, Thread("D1", "1.0")).send(with_short_answer(), finish)
        [reply] = fake.bot_replies("D1", "1.0")
        assert reply["text"].startswith("**Nara** — The summit was held in Nara"), reply["text"]


def test_a_stream_slack_stops_taking_is_rewritten_whole() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        reply = StreamedReply(client, Thread("D1", "1.0"))
        stream = events(LONG)
        reply_events = iter(stream)
        taken = [next(reply_events) for _ in range(8)]  # started and appended
        fake.refuse("chat.appendStream", "message_not_in_streaming_state")
        fake.refuse("chat.stopStream", "message_not_in_streaming_state")
        reply.send([*taken, *reply_events], finish)
        [whole] = fake.bot_replies("D1", "1.0")
        assert fake.calls("chat.update", ts=whole["ts"])
        assert whole["text"].startswith("The summit was held in Nara")
        assert any(b["type"] == "context_actions" for b in whole["blocks"])
        assert fake.calls("chat.postMessage") == []  # the started message, rewritten


def test_an_answer_that_fails_part_way_ends_its_stream_with_the_notice() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        reply = StreamedReply(client, Thread("D1", "1.0"))
        with pytest.raises(UnavailableError):
            reply.send(events(LONG, fail_after=20), finish)
        reply.abandon({"text": "Sorry, try again later.", "blocks": []})
        [ended] = fake.bot_replies("D1", "1.0")
        assert ended["text"].startswith("The summit") and ended["text"].endswith("try again later.")


def test_a_channel_stream_without_its_recipient_falls_back_to_a_post() -> None:
    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        StreamedReply(client, Thread("C1", "1.0")).send(events(LONG), finish)
        [posted] = fake.calls("chat.postMessage", channel="C1", thread_ts="1.0")
        assert "Nara" in posted.get("text")


def test_the_feedback_buttons_are_block_kit_slack_takes() -> None:
    message = answer_message(
        Answer(question="q", answer="In Nara. [1]", answered=True, citations=[citation(1)]), "abc"
    )
    assert block_errors(message["blocks"]) == []
    [buttons] = [b for b in message["blocks"] if b["type"] == "context_actions"]
    element = buttons["elements"][0]
    assert element["action_id"] == FEEDBACK_ACTION
    assert (element["positive_button"]["value"], element["negative_button"]["value"]) == (
        "up:abc",
        "down:abc",
    )
    assert all(
        b["type"] != "context_actions"
        for b in answer_message(Answer(question="q", answer="x", answered=True, citations=[]))[
            "blocks"
        ]
    )


def test_the_manifest_asks_for_what_the_bot_listens_to_and_calls() -> None:
    """The app a user creates from the manifest must deliver the events the listeners
    handle and allow the methods the bot calls (Slack drops the rest silently)."""
    manifest = yaml.safe_load((ROOT / "server" / "slack" / "manifest.yaml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "assistant_thread_started"} <= events
    assert "assistant_thread_context_changed" in events  # handled (a no-op), so not retried
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.startStream/postMessage/update, assistant.threads.*, reactions, thread history
    assert {"chat:write", "assistant:write", "reactions:write", "im:history"} <= scopes
    assert manifest["settings"]["interactivity"]["is_enabled"]  # the 👍/👎 buttons
    assert "assistant_view" in manifest["features"]
