"""A fake Slack Web API over real HTTP on 127.0.0.1, for tests of the Slack front door.

It answers the few methods the bot uses the way Slack does (`{"ok": ..., ...}` with HTTP
200; `unknown_method` for the others; `invalid_auth` for a wrong token; `invalid_blocks`
for Block Kit that Slack would refuse), records every request (Web API calls and posts to
slash command response URLs), and keeps the messages of each channel so
`conversations.replies` returns a thread's seeded messages together with the replies the
bot posted into it, oldest first and cursor-paginated by `limit` as Slack does.

Streamed messages (chat.startStream, appendStream, stopStream) accumulate their markdown
text; once stopped, the message's blocks are that text as a `markdown` block followed by
the blocks stopStream gave. `FakeSlack(stream_error="unknown_method")` stands for a
workspace that cannot stream: startStream fails with that error.

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.api_url)
        ...
        [reply] = fake.wait_for("chat.postMessage", channel="C1")
        [answer] = fake.wait_for_replies("C1", thread_ts)  # posted whole or streamed
"""

import contextlib
import hashlib
import hmac
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
    "actions context context_actions divider file header image input markdown rich_text "
    "section video".split()
)
_STREAM_ERRORS = {"append": "message_not_in_streaming_state", "gone": "message_not_found"}


def signature_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request signing: v0=HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def block_texts(value: Any) -> list[str]:
    """Every `text` string in a Block Kit structure, in order."""
    if isinstance(value, list):
        return [text for item in value for text in block_texts(item)]
    if not isinstance(value, dict):
        return []
    found = []
    for key, item in value.items():
        found += [item] if key == "text" and isinstance(item, str) else block_texts(item)
    return found


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

    def __init__(self, token: str = BOT_TOKEN, stream_error: str | None = None) -> None:
        self.token = token
        self.stream_error = stream_error  # what chat.startStream fails with, if it fails
        self._refused: dict[str, str] = {}  # method -> the error it fails with
        self._lock = threading.Condition()
        self._calls: list[SlackCall] = []
        self._messages: dict[str, list[Message]] = {}  # channel -> messages
        self._reactions: dict[tuple[str, str], set[str]] = {}  # (channel, ts) -> names
        self._last_micros = 0
        self._files: dict[str, bytes] = {}  # path -> content, served with the bot token
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
            "chat.postEphemeral": self._post_ephemeral,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "conversations.replies": self._replies,
            "apps.connections.open": self._connections_open,
            "assistant.threads.setStatus": self._pane_call,
            "assistant.threads.setTitle": self._pane_call,
            "assistant.threads.setSuggestedPrompts": self._suggested_prompts,
        }
        # the methods that finish a reply learn which call did (its `seq`)
        self._finishing: dict[str, Callable[[dict[str, Any], int], Reply]] = {
            "chat.postMessage": self._post_message,
            "chat.startStream": self._start_stream,
            "chat.appendStream": self._append_stream,
            "chat.stopStream": self._stop_stream,
            "chat.update": self._update,
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

    def add_file(self, name: str, data: bytes) -> Message:
        """A file as Slack describes it in a message's `files`; its download link is served
        here, to requests that carry the bot token (as files.slack.com wants)."""
        file_id = f"F{len(self._files) + 1:08d}"
        path = f"/files-pri/T1-{file_id}/download/{name}"
        self._files[path] = data
        return {
            "id": file_id,
            "name": name,
            "size": len(data),
            "url_private": f"{self.url}{path}",
            "url_private_download": f"{self.url}{path}",
        }

    def serve_file(self, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
        self._record("files.download", {}, headers, path)
        if headers.get("authorization") != f"Bearer {self.token}":
            return 403, b"not allowed"
        data = self._files.get(path)
        return (200, data) if data is not None else (404, b"no such file")

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

    def refuse(self, method: str, error: str) -> None:
        """From now on, `method` fails with `error` (a Slack outage of one method)."""
        with self._lock:
            self._refused[method] = error

    def bot_replies(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """The bot's finished replies (posted, or streamed and stopped), in the order they
        were finished; `done_seq` is the seq of the call that finished each."""
        with self._lock:
            found = [
                dict(m)
                for m in self._messages.get(channel, [])
                if m.get("bot_id") == BOT_ID and "done_seq" in m
                if thread_ts is None or m.get("thread_ts") == thread_ts
            ]
        return sorted(found, key=lambda m: int(m["done_seq"]))

    def wait_for_replies(
        self, channel: str, thread_ts: str | None = None, count: int = 1, timeout: float = 60.0
    ) -> list[Message]:
        """Waits until the bot has finished `count` replies there; returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := self.bot_replies(channel, thread_ts)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recorded = "\n".join(str(c) for c in self._calls[-30:]) or "(none)"
                    raise AssertionError(
                        f"waited {timeout:.0f} s for {count} replies in {channel} "
                        f"{thread_ts}, found {len(found)}; the latest calls:\n{recorded}"
                    )
                self._lock.wait(min(remaining, 0.5))
            return found

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
        seq = self._record(method, params, headers, split.path)
        if method not in self._methods and method not in self._finishing:
            return 200, {"ok": False, "error": "unknown_method"}
        if method != "apps.connections.open" and _token(headers, params) != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}
        if method in self._refused:
            return 200, {"ok": False, "error": self._refused[method]}
        if method in self._finishing:
            return 200, self._finishing[method](params, seq)
        return 200, self._methods[method](params)

    def _record(
        self, method: str, params: dict[str, Any], headers: dict[str, str], path: str
    ) -> int:
        with self._lock:
            seq = len(self._calls) + 1
            self._calls.append(SlackCall(seq, method, params, headers, path))
            self._last_call_at = time.monotonic()
            self._lock.notify_all()
            return seq

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

    def _post_message(self, params: dict[str, Any], seq: int) -> Reply:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return {"ok": False, "error": "no_text"}
        if len(str(params.get("text") or "")) > _MAX_TEXT_CHARS:
            return {"ok": False, "error": "msg_too_long"}
        if errors := block_errors(params.get("blocks")):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        message = self._bot_message(params.get("text", ""), done_seq=seq)
        for name in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(name):
                message[name] = params[name]
        with self._lock:
            self._messages.setdefault(str(channel), []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _bot_message(self, text: str, done_seq: int | None) -> Message:
        message: Message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": text,
            "ts": self.new_ts(),
        }
        if done_seq is not None:
            message["done_seq"] = done_seq  # the fake's own: which call finished the reply
        return message

    def _start_stream(self, params: dict[str, Any], _: int) -> Reply:
        """A streamed reply begins: in a thread, and to a named person outside DMs."""
        channel, thread_ts = params.get("channel"), params.get("thread_ts")
        if self.stream_error:
            return {"ok": False, "error": self.stream_error}
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not thread_ts:
            return {"ok": False, "error": "invalid_arguments"}
        if not str(channel).startswith("D") and not (
            params.get("recipient_team_id") and params.get("recipient_user_id")
        ):
            return {"ok": False, "error": "missing_recipient_user_id"}
        message = self._bot_message(_chunk_text(params), done_seq=None)
        message.update(thread_ts=thread_ts, streaming=True)
        with self._lock:
            self._messages.setdefault(str(channel), []).append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"]}

    def _append_stream(self, params: dict[str, Any], _: int) -> Reply:
        with self._lock:
            message = self._streaming_message(params)
            if message is None:
                return {"ok": False, "error": _STREAM_ERRORS["append"]}
            message["text"] += _chunk_text(params)
        return {"ok": True, "channel": params["channel"], "ts": message["ts"]}

    def _stop_stream(self, params: dict[str, Any], seq: int) -> Reply:
        if errors := block_errors(params.get("blocks")):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        with self._lock:
            message = self._streaming_message(params)
            if message is None:
                return {"ok": False, "error": _STREAM_ERRORS["append"]}
            message["text"] += _chunk_text(params)
            markdown = {"type": "markdown", "text": message["text"]}
            message.update(blocks=[markdown, *(params.get("blocks") or [])], done_seq=seq)
            message["streaming"] = False
        return {"ok": True, "channel": params["channel"], "ts": message["ts"], "message": message}

    def _streaming_message(self, params: dict[str, Any]) -> Message | None:
        for message in self._messages.get(str(params.get("channel")), []):
            if message["ts"] == params.get("ts") and message.get("streaming"):
                return message
        return None

    def _update(self, params: dict[str, Any], seq: int) -> Reply:
        if errors := block_errors(params.get("blocks")):
            return {"ok": False, "error": "invalid_blocks", "errors": errors}
        with self._lock:
            for message in self._messages.get(str(params.get("channel")), []):
                if message["ts"] == params.get("ts") and message.get("bot_id") == BOT_ID:
                    message.update(text=params.get("text", ""), done_seq=seq, streaming=False)
                    message["blocks"] = params.get("blocks") or []
                    return {"ok": True, "channel": params["channel"], "ts": message["ts"]}
        return {"ok": False, "error": _STREAM_ERRORS["gone"]}

    def _pane_call(self, params: dict[str, Any]) -> Reply:
        if not params.get("channel_id") or not params.get("thread_ts"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True}

    def _suggested_prompts(self, params: dict[str, Any]) -> Reply:
        prompts = params.get("prompts")
        if not isinstance(prompts, list) or not 0 < len(prompts) <= 4:
            return {"ok": False, "error": "invalid_arguments"}
        if not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            return {"ok": False, "error": "invalid_arguments"}
        return self._pane_call(params)

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
        elif block["type"] == "context_actions":
            errors += _context_actions_errors(block, where)
    return errors


def _context_actions_errors(block: dict[str, Any], where: str) -> list[str]:
    """Feedback buttons: a positive and a negative button, each with text and a value."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not 0 < len(elements) <= 5:
        return [f"must hold 1 to 5 elements [json-pointer:{where}/elements]"]
    errors = []
    for j, element in enumerate(elements):
        at = f"{where}/elements/{j}"
        if not isinstance(element, dict) or element.get("type") not in (
            "feedback_buttons",
            "icon_button",
        ):
            errors.append(f"unsupported type [json-pointer:{at}/type]")
            continue
        for side in (
            ("positive_button", "negative_button") if element["type"] == "feedback_buttons" else ()
        ):
            button = element.get(side)
            if not isinstance(button, dict) or not button.get("value"):
                errors.append(f"must provide a value [json-pointer:{at}/{side}]")
            else:
                errors += _text_errors(button.get("text"), f"{at}/{side}/text")
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


def _chunk_text(params: dict[str, Any]) -> str:
    """The markdown a stream call carries (as `chunks`, or the older `markdown_text`)."""
    chunks = params.get("chunks") or []
    text = "".join(
        str(c.get("text", ""))
        for c in chunks
        if isinstance(c, dict) and c.get("type") == "markdown_text"
    )
    return text + str(params.get("markdown_text") or "")


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
            if self.path.startswith("/files-pri/"):
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, data = fake.serve_file(self.path, headers)
                self.send_response(status)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
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
