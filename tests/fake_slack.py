"""A fake Slack Web API over real HTTP on 127.0.0.1, for tests of the Slack front door.

It answers the few methods the bot uses the way Slack does (`{"ok": ..., ...}` with HTTP
200; `unknown_method` for the others; `invalid_auth` for a wrong token; `invalid_blocks`
for Block Kit that Slack would refuse), records every request (Web API calls and posts to
slash command response URLs), and keeps the messages of each channel so
`conversations.replies` returns a thread's seeded messages together with the replies the
bot posted into it, oldest first and cursor-paginated by `limit` as Slack does.

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        ...
        [reply] = fake.wait_for("chat.postMessage", channel="C1")
"""

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

BOT_TOKEN = "xoxb-test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
APP_ID = "A1"
RESPONSE_URL_METHOD = "response_url"  # the `method` of a recorded POST to a response URL

_JSON_FIELDS = ("blocks", "attachments", "metadata")  # JSON-encoded when sent as form fields
_MISSING = object()
_MAX_TEXT_CHARS = 40_000
_MAX_BLOCKS = 50
_MAX_BLOCK_TEXT = 3000
_MAX_CONTEXT_ELEMENTS = 10
_BLOCK_TYPES = frozenset(
    "actions context divider file header image input markdown rich_text section video".split()
)

Message = dict[str, Any]
Reply = dict[str, Any]


@dataclass(frozen=True)
class SlackCall:
    """One recorded request: its Web API method (or RESPONSE_URL_METHOD) and parameters."""

    seq: int
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    path: str

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)

    def matches(self, where: dict[str, Any]) -> bool:
        return all(self.params.get(name, _MISSING) == value for name, value in where.items())

    def __str__(self) -> str:
        return f"#{self.seq} {self.method} {json.dumps(self.params, default=str)[:300]}"


class FakeSlack:
    """The fake Web API at `api_url` (`http://127.0.0.1:<port>/api/`), served in a thread."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self._lock = threading.Condition()
        self._calls: list[SlackCall] = []
        self._messages: dict[str, list[Message]] = {}  # channel -> messages
        self._reactions: dict[tuple[str, str], set[str]] = {}  # (channel, ts) -> names
        self._last_micros = 0
        self._last_call_at = time.monotonic()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack", daemon=True
        )
        self._methods: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
        }

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ test helpers

    def response_url(self, name: str) -> str:
        """A slash command `response_url`; posts to it are recorded as RESPONSE_URL_METHOD
        calls whose `response_id` parameter is `name`."""
        return f"{self.url}/response/{name}"

    def new_ts(self) -> str:
        """A fresh message timestamp, later than every one handed out before."""
        with self._lock:
            micros = max(time.time_ns() // 1000, self._last_micros + 1)
            self._last_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def add_message(self, channel: str, message: Message) -> Message:
        """Stores a message as Slack would hold it (a `ts` is assigned when missing)."""
        stored = {"type": "message", **message}
        stored.setdefault("ts", self.new_ts())
        with self._lock:
            self._messages.setdefault(channel, []).append(stored)
        return stored

    def seed_thread(self, channel: str, thread_ts: str, messages: list[Message]) -> list[Message]:
        """Stores messages of the thread `thread_ts`; the one whose `ts` is `thread_ts` (if
        given) is its root. `conversations.replies` returns them with the bot's replies."""
        return [
            self.add_message(channel, {**message, "thread_ts": thread_ts}) for message in messages
        ]

    def calls(self, method: str | None = None, **where: Any) -> list[SlackCall]:
        """Recorded calls, oldest first: of one method, with these parameter values."""
        with self._lock:
            return [
                call
                for call in self._calls
                if (method is None or call.method == method) and call.matches(where)
            ]

    def wait_for(
        self, method: str, count: int = 1, timeout: float = 60.0, **where: Any
    ) -> list[SlackCall]:
        """Waits until at least `count` matching calls were recorded and returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [c for c in self._calls if c.method == method and c.matches(where)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recorded = "\n".join(str(c) for c in self._calls[-30:]) or "(none)"
                    raise AssertionError(
                        f"waited {timeout:.0f} s for {count} {method} call(s) with {where}, "
                        f"found {len(found)}; the latest calls:\n{recorded}"
                    )
                self._lock.wait(min(remaining, 0.5))

    def wait_quiet(self, idle: float = 0.5, timeout: float = 30.0) -> None:
        """Waits until no request has arrived for `idle` seconds: work still running in
        the bot (a reply that should not come) shows up before this returns."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while (quiet_for := time.monotonic() - self._last_call_at) < idle:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the fake never went {idle} s without a request")
                self._lock.wait(idle - quiet_for)

    def reactions(self, channel: str, ts: str) -> set[str]:
        """The reactions the bot has on a message now."""
        with self._lock:
            return set(self._reactions.get((channel, ts), set()))

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        with self._lock:
            return _thread_messages(self._messages.get(channel, []), thread_ts)

    # ------------------------------------------------------------ request handling

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Reply]:
        split = urlsplit(path)
        params: dict[str, Any] = dict(parse_qsl(split.query, keep_blank_values=True))
        params.update(_body_params(headers.get("content-type", ""), body))
        for name in _JSON_FIELDS:
            value = params.get(name)
            if isinstance(value, str) and value.startswith(("[", "{")):
                with contextlib.suppress(json.JSONDecodeError):
                    params[name] = json.loads(value)
        if split.path.startswith("/response/"):
            params["response_id"] = split.path.removeprefix("/response/")
            self._record(RESPONSE_URL_METHOD, params, headers, split.path)
            if errors := block_errors(params.get("blocks")):
                return 400, {"ok": False, "error": "invalid_blocks", "errors": errors}
            return 200, {"ok": True}
        if not split.path.startswith("/api/"):
            self._record(split.path, params, headers, split.path)
            return 404, {"ok": False, "error": "not_found"}
        method = split.path.removeprefix("/api/")
        self._record(method, params, headers, split.path)
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}
        if method != "apps.connections.open" and _token(headers, params) != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}
        return 200, handler(params)

    def _record(
        self, method: str, params: dict[str, Any], headers: dict[str, str], path: str
    ) -> None:
        with self._lock:
            self._calls.append(SlackCall(len(self._calls) + 1, method, params, headers, path))
            self._last_call_at = time.monotonic()
            self._lock.notify_all()

    # ------------------------------------------------------------ the methods

    def _auth_test(self, _: dict[str, Any]) -> Reply:
        return {
            "ok": True,
            "url": "https://summit-test.slack.com/",
            "team": "Summit Test",
            "user": "summit",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: dict[str, Any]) -> Reply:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        if len(str(params.get("text") or "")) > _MAX_TEXT_CHARS:
            return {"ok": False, "error": "msg_too_long"}
        if errors := block_errors(params.get("blocks")):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        message: Message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": params.get("text", ""),
            "ts": self.new_ts(),
        }
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(name):
                message[name] = params[name]
        with self._lock:
            self._messages.setdefault(str(channel), []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _post_ephemeral(self, params: dict[str, Any]) -> Reply:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self.new_ts()}

    def _reactions_add(self, params: dict[str, Any]) -> Reply:
        key, name = _reaction_target(params)
        if key is None:
            return {"ok": False, "error": "no_item_specified"}
        if not name:
            return {"ok": False, "error": "invalid_name"}
        with self._lock:
            names = self._reactions.setdefault(key, set())
            if name in names:
                return {"ok": False, "error": "already_reacted"}
            names.add(name)
        return {"ok": True}

    def _reactions_remove(self, params: dict[str, Any]) -> Reply:
        key, name = _reaction_target(params)
        if key is None:
            return {"ok": False, "error": "no_item_specified"}
        with self._lock:
            names = self._reactions.get(key, set())
            if name not in names:
                return {"ok": False, "error": "no_reaction"}
            names.remove(name)
        return {"ok": True}

    def _replies(self, params: dict[str, Any]) -> Reply:
        channel, ts = params.get("channel"), params.get("ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        with self._lock:
            messages = _thread_messages(self._messages.get(str(channel), []), str(ts))
        if not messages:
            return {"ok": False, "error": "thread_not_found"}
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 1000)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _connections_open(self, _: dict[str, Any]) -> Reply:
        return {"ok": False, "error": "invalid_auth"}


def block_errors(blocks: Any) -> list[str]:
    """What Slack would reject in a `blocks` value (a subset of its Block Kit checks)."""
    if blocks is None or blocks == "":
        return []
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errors = []
    if len(blocks) > _MAX_BLOCKS:
        errors.append(f"no more than {_MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            errors.append(f"unsupported type [json-pointer:{where}/type]")
        elif block["type"] == "section":
            if "text" not in block and "fields" not in block:
                errors.append(f"must provide text or fields [json-pointer:{where}]")
            if "text" in block:
                errors += _text_errors(block["text"], f"{where}/text")
        elif block["type"] == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= _MAX_CONTEXT_ELEMENTS:
                errors.append(f"must hold 1 to 10 elements [json-pointer:{where}/elements]")
            else:
                for j, element in enumerate(elements):
                    if not (isinstance(element, dict) and element.get("type") == "image"):
                        errors += _text_errors(element, f"{where}/elements/{j}")
    return errors


def _text_errors(text: Any, where: str) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in ("mrkdwn", "plain_text"):
        return [f"must be a text object [json-pointer:{where}]"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"must be more than 0 characters [json-pointer:{where}/text]"]
    if len(value) > _MAX_BLOCK_TEXT:
        return [f"must be less than {_MAX_BLOCK_TEXT + 1} characters [json-pointer:{where}/text]"]
    return []


def _thread_messages(messages: list[Message], thread_ts: str) -> list[Message]:
    found = [m for m in messages if thread_ts in (m.get("ts"), m.get("thread_ts"))]
    return sorted(found, key=lambda m: _ts_key(str(m["ts"])))


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros.ljust(6, "0")[:6] or 0)


def _reaction_target(params: dict[str, Any]) -> tuple[tuple[str, str] | None, str]:
    channel, ts = params.get("channel"), params.get("timestamp")
    key = (str(channel), str(ts)) if channel and ts else None
    return key, str(params.get("name") or "")


def _token(headers: dict[str, str], params: dict[str, Any]) -> str | None:
    authorization = headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    token = params.get("token")
    return str(token) if token else None


def _body_params(content_type: str, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    text = body.decode("utf-8")
    if content_type.startswith("application/json"):
        decoded = json.loads(text)
        return decoded if isinstance(decoded, dict) else {"_json": decoded}
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(text, keep_blank_values=True))
    return {"_body": text}


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer()

        def do_GET(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                status, reply = fake.handle(self.path, headers, body)
            except (ValueError, UnicodeDecodeError) as exc:
                status, reply = 400, {"ok": False, "error": f"invalid_request: {exc}"}
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the calls are recorded; the test output stays quiet

    return Handler
