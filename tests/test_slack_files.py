"""Files shared with the bot become documents: real signed events to the real app on
loopback, the fake Slack Web API serving the files (to the bot token only), the real model
and reader. A PDF shared in a DM is added and then answered from with a citation of it; a
mention with a file in a thread adds it too; someone SUMMIT_SLACK_UPLOADERS does not name, or
a file no loader reads, gets a polite reply and nothing is stored."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.settings import Settings
from tests.configured import configured_store
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.pdfs import make_pdf
from tests.servers import running_server
from tests.test_slack import (
    API_KEY,
    MENTION,
    SIGNING_SECRET,
    SlackSender,
    app_mention,
    direct_message,
    event_callback,
    new_id,
)

pytestmark = pytest.mark.e2e

STATEMENT = "The joint statement on fisheries was signed in Gyeongju on Wednesday morning."
QUESTION = "Where was the joint statement on fisheries signed?"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("slack-files") / "store"


@pytest.fixture(scope="module")
def slack(
    fake: FakeSlack, store_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SlackSender]:
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("SUMMIT_", "SLACK_")):
                patch.delenv(name)
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.chdir(tmp_path_factory.mktemp("slack-files-cwd"))
        settings = Settings.of(
            store=store_dir,
            rate_limit_per_minute=0,
            refresh_seconds=0.2,
            api_key=API_KEY,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            slack_uploaders="U1, U7",
        )
        auth = {"Authorization": f"Bearer {API_KEY}"}
        with (
            running_server(settings, headers=auth) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            yield SlackSender(client)


def reply_text(fake: FakeSlack, event: dict[str, Any], count: int = 1) -> str:
    thread_ts = event.get("thread_ts") or event["ts"]
    reply = fake.wait_for_replies(event["channel"], thread_ts, count)[count - 1]
    return str(reply.get("text"))


def test_a_pdf_shared_in_a_dm_is_added_and_answered_from(
    slack: SlackSender, fake: FakeSlack, store_dir: Path
) -> None:
    channel = new_id("D")
    shared = fake.add_file("statement.pdf", make_pdf([STATEMENT]))
    event = direct_message(fake, channel, "", subtype="file_share", files=[shared])
    slack.event(event_callback(event))
    said = reply_text(fake, event)
    assert "Added 1 document" in said, said
    downloads = fake.calls("files.download")
    assert downloads and downloads[-1].headers.get("authorization") == f"Bearer {BOT_TOKEN}"
    stored = {Path(s).name for s in configured_store(Settings.of(store=store_dir)).sources()}
    assert "statement.pdf" in stored

    question = direct_message(fake, channel, QUESTION)
    slack.event(event_callback(question))
    answer = reply_text(fake, question)
    assert "Gyeongju" in answer, answer


def test_a_file_in_a_thread_where_the_bot_is_mentioned_is_added(
    slack: SlackSender, fake: FakeSlack
) -> None:
    channel = new_id("C")
    shared = fake.add_file("ferry.md", b"# Ferry\n\nThe ferry to Jeju resumed on Friday.\n")
    event = app_mention(fake, channel, f"{MENTION} here is the note", files=[shared], user="U7")
    slack.event(event_callback(event))
    assert "Added 1 document" in reply_text(fake, event)


def test_someone_not_named_as_an_uploader_gets_a_polite_no(
    slack: SlackSender, fake: FakeSlack, store_dir: Path
) -> None:
    before = configured_store(Settings.of(store=store_dir)).sources()
    shared = fake.add_file("secret.md", b"# Secret\n\nThe bridge opened.\n")
    event = direct_message(fake, new_id("D"), "", user="U2", subtype="file_share", files=[shared])
    slack.event(event_callback(event))
    assert "can't add documents" in reply_text(fake, event)
    assert configured_store(Settings.of(store=store_dir)).sources() == before


def test_a_file_no_loader_reads_is_not_added_and_says_why(
    slack: SlackSender, fake: FakeSlack
) -> None:
    shared = fake.add_file("tool.pdf", bytes(range(256)) * 8)
    event = direct_message(fake, new_id("D"), "", subtype="file_share", files=[shared])
    slack.event(event_callback(event))
    said = reply_text(fake, event)
    assert "Not added: tool.pdf" in said and "not a kind of file" in said, said
