"""tools/try_slack.py as a newcomer runs it: the stand-in Slack Web API, `summit serve` as a
subprocess over a new store (the bundled article ingested first), one signed @mention, and
the bot's reply printed with its sources."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "try_slack.py"


def test_try_slack_prints_the_bots_reply_to_a_mention(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "First run with an empty store" in done.stdout, done.stdout
    reply = done.stdout.split("--- reply", 1)[1].split("\n--- ", 1)[0]
    assert "Nara" in reply, done.stdout
    assert "--- Sources ---" in done.stdout, done.stdout
    assert any(store.iterdir())  # the store given is the one the server filled
