"""See the Slack bot answer without a Slack workspace: one @mention, end to end, on loopback.

    python tools/try_slack.py [--question "Where was the summit held?"] [--store DIR]
                              [--timeout 300] [--server-log]

It starts the stand-in Slack Web API the tests use (tests/fake_slack.py) on 127.0.0.1,
starts `summit serve` as a subprocess on a free loopback port with the environment pointing
the bot at the stand-in (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SUMMIT_SLACK_API_URL,
SUMMIT_STORE, SUMMIT_HOST, SUMMIT_PORT), waits for /healthz and then /readyz, posts one
`app_mention` event to /slack/events signed as Slack signs it, waits for the bot's reply to
reach the stand-in (streamed or posted), prints it with its sources, and stops both.

The store is a new temporary folder unless --store names one; an empty store first ingests
the bundled article (about a minute with the real model). The server runs in a temporary
folder (no .env is read) without the caller's SUMMIT_*, SLACK_* and proxy variables, and
with HF_HUB_OFFLINE=1: nothing leaves 127.0.0.1. Exit code 0 once the reply is printed, 1
with a one-line message otherwise.
"""

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_slack import (  # noqa: E402
    APP_ID,
    BOT_USER_ID,
    TEAM_ID,
    FakeSlack,
    Message,
    block_texts,
    signature_headers,
)

DEFAULT_QUESTION = "Where was the summit held?"
CHANNEL = "CTRYSLACK"
USER = "UNEWCOMER"
PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy"}  # slack_sdk ignores NO_PROXY


class Failure(Exception):
    """What went wrong, in one line."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="what to ask the bot")
    parser.add_argument("--store", type=Path, help="store folder (default: a new temporary one)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for it all")
    parser.add_argument(
        "--server-log", action="store_true", help="show the server's log instead of hiding it"
    )
    args = parser.parse_args(argv)
    try:
        run(args.question, args.store, time.monotonic() + args.timeout, args.server_log)
    except Failure as exc:
        print(f"try_slack: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def run(question: str, store: Path | None, deadline: float, server_log: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="try-slack-") as folder, FakeSlack() as fake:
        work = Path(folder)
        store = (store or work / "store").resolve()
        say(f"Stand-in Slack Web API: {fake.api_url}")
        secret = secrets.token_hex(16)
        env = server_env(fake, secret, store, free_port())
        url = f"http://{env['SUMMIT_HOST']}:{env['SUMMIT_PORT']}"
        say(f"Starting `summit serve` at {url} (store: {store})")
        if not (store.is_dir() and any(store.iterdir())):
            say("First run with an empty store: the server ingests the bundled article before")
            say("it is ready (up to about a minute with the real model).")
        with serving(env, work, server_log) as server, httpx.Client(trust_env=False) as client:
            wait_until_ok(client, f"{url}/healthz", server, work, deadline)
            ready = wait_until_ok(client, f"{url}/readyz", server, work, deadline)
            say(f"Ready (documents: {ready.get('documents')}, chunks: {ready.get('chunks')}).")
            event = mention(fake, question)
            say(f"@mention in #{CHANNEL}: {question}")
            started = time.monotonic()
            send_event(client, url, event, secret)
            reply = wait_for_reply(fake, event, deadline)
            print_reply(fake, reply, time.monotonic() - started)


def say(line: str) -> None:
    print(line, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(fake: FakeSlack, secret: str, store: Path, port: int) -> dict[str, str]:
    """The caller's environment without its SUMMIT_*, SLACK_* and proxy variables, plus the
    settings that point the bot at the stand-in."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SUMMIT_", "SLACK_")) and name.lower() not in PROXY_VARIABLES
    }
    env.update(
        SLACK_BOT_TOKEN=fake.token,
        SLACK_SIGNING_SECRET=secret,
        SUMMIT_SLACK_API_URL=fake.api_url,
        SUMMIT_STORE=str(store),
        SUMMIT_HOST="127.0.0.1",
        SUMMIT_PORT=str(port),
        HF_HUB_OFFLINE="1",
    )
    return env


def summit_command() -> list[str]:
    """`summit`, the console script beside this interpreter, or its entry point."""
    script = Path(sys.executable).with_name("summit")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from server.cli import main; main()"]


@contextmanager
def serving(env: dict[str, str], work: Path, server_log: bool) -> Iterator[subprocess.Popen[bytes]]:
    """`summit serve` in `work` (its log in work/server.log unless shown), stopped after."""
    with (work / "server.log").open("wb") as log:
        output = None if server_log else log
        try:
            process = subprocess.Popen(
                [*summit_command(), "serve"],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=output,
            )
        except OSError as exc:
            raise Failure(f"could not start `summit serve`: {exc}") from exc
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until_ok(
    client: httpx.Client,
    url: str,
    server: subprocess.Popen[bytes],
    work: Path,
    deadline: float,
) -> dict[str, Any]:
    """GETs `url` until it answers 200 (its JSON); fails if the server exits or time is up."""
    last = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise Failure(
                f"`summit serve` exited with code {server.returncode}: {last_log_line(work)}"
            )
        try:
            response = client.get(url, timeout=5)
        except httpx.TransportError as exc:
            last = f"{type(exc).__name__}"
        else:
            if response.status_code == 200:
                return dict(response.json())
            last = f"{response.status_code} {response.text[:200]}"
        time.sleep(0.5)
    raise Failure(f"{url} did not answer 200 in time (last: {last})")


def last_log_line(work: Path) -> str:
    log = work / "server.log"
    lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
    found = [line.strip() for line in lines if line.strip()]
    return found[-1] if found else "(no log; run with --server-log to see it)"


def mention(fake: FakeSlack, question: str) -> dict[str, Any]:
    """An `app_mention` event in a channel, as Slack sends it."""
    ts = fake.new_ts()
    return {
        "type": "app_mention",
        "user": USER,
        "text": f"<@{BOT_USER_ID}> {question}",
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
        "team": TEAM_ID,
    }


def envelope(event: dict[str, Any]) -> dict[str, Any]:
    """The `event_callback` wrapper Slack sends every Events API event in."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True},
        ],
    }


def send_event(client: httpx.Client, url: str, event: dict[str, Any], secret: str) -> None:
    body = json.dumps(envelope(event)).encode()
    headers = {"Content-Type": "application/json", **signature_headers(body, secret)}
    try:
        response = client.post(f"{url}/slack/events", content=body, headers=headers, timeout=30)
    except httpx.TransportError as exc:
        raise Failure(f"posting the event to /slack/events failed: {exc!r}") from exc
    if response.status_code != 200:
        raise Failure(f"/slack/events answered {response.status_code}: {response.text[:200]}")


def wait_for_reply(fake: FakeSlack, event: dict[str, Any], deadline: float) -> Message:
    """The bot's first finished reply in the event's thread (posted, or streamed and
    stopped), as the stand-in holds it."""
    timeout = max(deadline - time.monotonic(), 1.0)
    try:
        [reply, *_] = fake.wait_for_replies(event["channel"], event["ts"], timeout=timeout)
    except AssertionError as exc:
        calls = [str(call) for call in fake.calls() if call.method != "auth.test"]
        latest = calls[-1][:200] if calls else "none"
        raise Failure(f"no reply from the bot in {timeout:.0f} s (latest call: {latest})") from exc
    return reply


def print_reply(fake: FakeSlack, reply: Message, seconds: float) -> None:
    blocks = reply.get("blocks") or []
    streamed = bool(fake.calls("chat.startStream", channel=CHANNEL, ts=reply["ts"]))
    streamed = streamed or bool(fake.calls("chat.stopStream", channel=CHANNEL, ts=reply["ts"]))
    how = "streamed" if streamed else "posted"
    texts = block_texts(blocks[:1])
    say(f"--- reply ({how} in the thread after {seconds:.1f} s) ---")
    say(unescape(texts[0] if texts else str(reply.get("text", ""))))
    sources = source_texts(blocks)
    if sources:
        say(f"--- {unescape(sources[0]).strip('*')} ---")
        for text in sources[1:]:
            say(unescape(text))


def source_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """The sources heading and each source: the text blocks after the divider."""
    types = [block.get("type") for block in blocks]
    if "divider" not in types:
        return []
    after = blocks[types.index("divider") + 1 :]
    return [t for b in after if b.get("type") in ("context", "section") for t in block_texts(b)]


def unescape(text: str) -> str:
    """Slack's three escaped characters, as written."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


if __name__ == "__main__":
    sys.exit(main())
