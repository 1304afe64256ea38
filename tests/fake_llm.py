"""A scripted language-model server over real HTTP on 127.0.0.1, for end-to-end tests.

It speaks just enough of two wire protocols for the real client libraries to work unchanged:
OpenAI's (`/v1/chat/completions`, `/v1/models`; for `openai` and `ChatOpenAI`) and Ollama's
(`/api/chat`, `/api/tags`, `/api/show`, `/api/version`; for `ollama` and `ChatOllama`). Each
chat request takes the next scripted `Reply` (or the default), so a test decides what the
"model" answers, how slowly, or how it fails, and can then read back what was sent.

    with FakeLlmServer() as llm:
        llm.script(Reply("Paris [1]."), Reply(status=500))
        model = ChatOpenAI(base_url=llm.base_url, api_key="test", model="fake-model")
        ...
        assert llm.requests[0]["messages"][-1]["content"] == "..."

Responses are HTTP/1.0: every connection is closed after its response, so streams end
without chunked encoding and no idle keep-alive connection outlives a test.
"""

import contextlib
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

MODEL = "fake-model"
OLLAMA_MODEL = f"{MODEL}:latest"  # Ollama lists tagged names; clients match "fake-model" too

Json = dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """What the fake model does for one chat request (frozen: a default is shared)."""

    text: str = ""  # assistant message content
    delay: float = 0.0  # seconds to wait before sending anything (to make a client time out)
    status: int = 200  # non-200: an error body in the API's own shape, with this status
    raw: str | None = None  # sent as-is (application/json) instead of a proper reply
    chunk_words: int = 2  # when streaming, words per chunk


DEFAULT_REPLY = Reply("I cannot tell.")


class FakeLlmServer:
    """OpenAI-compatible (/v1/chat/completions, /v1/models) and Ollama (/api/chat, /api/tags,
    /api/show, /api/version) server on 127.0.0.1, scripted replies."""

    def __init__(self, default: Reply | Callable[[Json], Reply] = DEFAULT_REPLY) -> None:
        self.default = default
        self.requests: list[Json] = []  # every chat request body, in order of arrival
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # delays wait on it, so stop() need not wait them
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name="fake-llm",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        """For `openai.OpenAI(base_url=...)` and `ChatOpenAI(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ollama_url(self) -> str:
        """For `ollama.Client(host=...)` and `ChatOllama(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        """Queues replies, consumed one per chat request in order; then the default answers."""
        with self._lock:
            self._script.extend(replies)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops serving and closes the socket at once, waking handlers sleeping in a delay
        (they then drop their connection without answering)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _next_reply(self, request: Json) -> Reply:
        """Records the request and picks its reply, both at arrival (before any delay)."""
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            return scripted
        return self.default(request) if callable(self.default) else self.default


# ---------------------------------------------------------------- response bodies


def _chunks(text: str, words: int) -> list[str]:
    """Splits text into pieces of `words` words that join back to exactly `text`."""
    pieces = re.findall(r"\s*\S+", text) or [""]
    pieces[-1] += text[len("".join(pieces)) :]  # trailing whitespace (or all of it)
    step = max(1, words)
    return ["".join(pieces[i : i + step]) for i in range(0, len(pieces), step)]


def _usage(request: Json, text: str) -> Json:
    """Token counts as whitespace-separated words: integers are all clients check."""
    prompt = sum(
        len(str(message.get("content") or "").split()) for message in request.get("messages", [])
    )
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _openai_completion(request: Json, reply: Reply) -> Json:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(request, reply.text),
    }


def _openai_stream(request: Json, reply: Reply) -> Iterator[Json]:
    """chat.completion.chunk objects: role, content pieces, finish_reason, optional usage."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.get("model", MODEL),
    }

    def chunk(delta: Json, finish_reason: str | None = None) -> Json:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return {**base, "choices": [choice]}

    yield chunk({"role": "assistant", "content": ""})
    for piece in _chunks(reply.text, reply.chunk_words):
        yield chunk({"content": piece})
    yield chunk({}, "stop")
    if (request.get("stream_options") or {}).get("include_usage"):
        yield {**base, "choices": [], "usage": _usage(request, reply.text)}


def _ollama_message(request: Json, content: str, *, done: bool) -> Json:
    return {
        "model": request.get("model", MODEL),
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "message": {"role": "assistant", "content": content},
        "done": done,
    }


def _ollama_final(request: Json, reply: Reply, content: str) -> Json:
    usage = _usage(request, reply.text)
    return {
        **_ollama_message(request, content, done=True),
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "load_duration": 0,
        "prompt_eval_count": usage["prompt_tokens"],
        "prompt_eval_duration": 500_000,
        "eval_count": usage["completion_tokens"],
        "eval_duration": 500_000,
    }


def _ollama_stream(request: Json, reply: Reply) -> Iterator[Json]:
    """One object per piece (done false), then a final empty one with done and counts, as
    Ollama sends them."""
    for piece in _chunks(reply.text, reply.chunk_words):
        yield _ollama_message(request, piece, done=False)
    yield _ollama_final(request, reply, "")


_MODEL_DETAILS: Json = {
    "parent_model": "",
    "format": "gguf",
    "family": "fake",
    "families": ["fake"],
    "parameter_size": "0B",
    "quantization_level": "F16",
}
_OLLAMA_TAGS: Json = {
    "models": [
        {
            "name": OLLAMA_MODEL,
            "model": OLLAMA_MODEL,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 0,
            "digest": "0" * 64,
            "details": _MODEL_DETAILS,
        }
    ]
}
_OLLAMA_SHOW: Json = {  # the ollama client requires "model_info" to be present
    "modelfile": "",
    "parameters": "",
    "template": "{{ .Prompt }}",
    "details": _MODEL_DETAILS,
    "model_info": {},
    "capabilities": ["completion"],
    "modified_at": "2025-01-01T00:00:00Z",
}
_OPENAI_MODELS: Json = {
    "object": "list",
    "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "fake-llm"}],
}


# ---------------------------------------------------------------- HTTP


def _handler_for(fake: FakeLlmServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # close-delimited bodies; see the module docstring

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            bodies = {"/v1/models": _OPENAI_MODELS, "/api/tags": _OLLAMA_TAGS}
            path = self.path.split("?")[0].rstrip("/")
            if path == "/api/version":
                self._send_json(200, {"version": "0.0.0-fake"})
            elif path in bodies:
                self._send_json(200, bodies[path])
            else:
                self._send_json(404, {"error": f"no route for GET {path}"})

        def do_POST(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            try:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(request, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                self._send_json(400, {"error": f"request body is not a JSON object: {exc}"})
                return
            if path == "/v1/chat/completions":
                self._chat(request, ollama=False)
            elif path == "/api/chat":
                self._chat(request, ollama=True)
            elif path == "/api/show":
                self._send_json(200, _OLLAMA_SHOW)
            else:
                self._send_json(404, {"error": f"no route for POST {path}"})

        def _chat(self, request: Json, *, ollama: bool) -> None:
            reply = fake._next_reply(request)
            if reply.delay and fake._stopping.wait(reply.delay):
                self.close_connection = True  # stopped: drop the connection, answer nothing
                return
            # The client may have given up (a timeout) while we were slow.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(request, reply, ollama=ollama)

        def _answer(self, request: Json, reply: Reply, *, ollama: bool) -> None:
            if reply.raw is not None:
                self._send(reply.status, "application/json", reply.raw.encode())
            elif reply.status != 200:
                message = reply.text or f"fake error {reply.status}"
                kind = "server_error" if reply.status >= 500 else "invalid_request_error"
                # Each API's own error shape: Ollama's is a bare string, which its client reads.
                error = message if ollama else {"message": message, "type": kind}
                self._send_json(reply.status, {"error": error})
            elif ollama and request.get("stream", True):  # Ollama streams unless told not to
                self._stream("application/x-ndjson", _ollama_stream(request, reply), sse=False)
            elif ollama:
                self._send_json(200, _ollama_final(request, reply, reply.text))
            elif request.get("stream"):
                self._stream("text/event-stream", _openai_stream(request, reply), sse=True)
            else:
                self._send_json(200, _openai_completion(request, reply))

        def _send_json(self, status: int, body: Json) -> None:
            self._send(status, "application/json", json.dumps(body).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, content_type: str, events: Iterator[Json], *, sse: bool) -> None:
            """Writes and flushes one event at a time, so clients see real increments."""
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            for event in events:
                line = json.dumps(event)
                self.wfile.write(f"data: {line}\n\n".encode() if sse else f"{line}\n".encode())
                self.wfile.flush()
            if sse:
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

    return Handler
