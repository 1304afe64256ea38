"""Every long-running front door sees a finished ingest without a restart: `summit chat`
(a real process reading questions from its stdin) and the Slack Socket Mode bot (its
listeners driven through `App.dispatch`, as in tests/test_slack.py) answer from a document
that `summit ingest`, another process, added while they were running. The real model, a
real Chroma store on disk."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from server.components import build_assistant, feedback_store
from server.live import kept_current
from server.settings import Settings
from server.slack.socket_mode import socket_mode_app
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.test_slack import (
    MENTION,
    app_mention,
    dispatch,
    event_callback,
    new_id,
    settle,
    wait_reply,
)

pytestmark = pytest.mark.e2e
SUMMIT = Path(sys.executable).with_name("summit")
QUESTION = "Where was the ferry summit held?"
FERRY = (
    "# Harbour talks\n\nThe ferry summit was held in Busan, at the harbour pier. "
    "The ministers agreed to run a night ferry between Busan and Fukuoka.\n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SUMMIT_")}
    environment.update(
        SUMMIT_STORE=str(tmp_path / "store"), SUMMIT_REFRESH_SECONDS="0.5", PYTHONUNBUFFERED="1"
    )
    return environment


def ingest_ferry(tmp_path: Path, env: dict[str, str]) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "ferry.md").write_text(FERRY)
    done = subprocess.run(
        [str(SUMMIT), "ingest", str(folder)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


class Output:
    """A process's stdout, read as it comes (a prompt ends with no newline)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.text = ""
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout.fileno(),), daemon=True).start()

    def _read(self, fd: int) -> None:
        while piece := os.read(fd, 4096):
            self.text += piece.decode("utf-8", "replace")

    def wait_for(self, needle: str, after: int = 0, timeout: float = 180) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text[after:]:
            assert time.monotonic() < deadline, f"no {needle!r} in {self.text[after:]!r}"
            time.sleep(0.1)
        return self.text[after:]


def test_summit_chat_answers_from_a_document_ingested_while_it_runs(
    tmp_path: Path, env: dict[str, str]
) -> None:
    command = [str(SUMMIT), "chat"]
    with subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as chat:
        assert chat.stdin is not None
        output = Output(chat)
        output.wait_for("you> ")
        mark = len(output.text)
        chat.stdin.write(QUESTION.encode() + b"\n")
        chat.stdin.flush()
        before = output.wait_for("you> ", after=mark)
        ingest_ferry(tmp_path, env)
        after = ""
        deadline = time.monotonic() + 60  # answered within a few refresh periods
        while "Busan" not in after and time.monotonic() < deadline:
            mark = len(output.text)
            chat.stdin.write(QUESTION.encode() + b"\n")
            chat.stdin.flush()
            after = output.wait_for("you> ", after=mark)
        chat.stdin.close()
        assert chat.wait(timeout=60) == 0
    assert "Busan" not in before
    assert "Busan" in after and "[1] Harbour talks" in after


def test_the_socket_mode_bot_answers_from_a_document_ingested_while_it_runs(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with FakeSlack() as fake:
        settings = Settings.of(
            store=tmp_path / "store",
            refresh_seconds=0.5,
            slack_bot_token=BOT_TOKEN,
            slack_app_token="xapp-1-test",
            slack_api_url=fake.api_url,
        )
        live = kept_current(lambda: build_assistant(settings), settings.storage.refresh_seconds)
        app = socket_mode_app(settings.slack, live, feedback_store(settings))
        channel = new_id("C")

        def ask() -> str:
            event = app_mention(fake, channel, f"{MENTION} {QUESTION}")
            dispatch(app, event_callback(event))
            reply = str(wait_reply(fake, event).get("text"))
            settle(fake, event)  # the bot is done with it before the fake Slack stops
            return reply

        try:
            before = ask()
            ingest_ferry(tmp_path, env)
            after = ""
            deadline = time.monotonic() + 60  # answered within a few refresh periods
            while "Busan" not in after and time.monotonic() < deadline:
                after = ask()
        finally:
            live.stop()
    assert "Busan" not in before
    assert "Busan" in after and "[1]" in after
