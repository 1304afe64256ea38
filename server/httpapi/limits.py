"""Request guards as plain ASGI middleware: API key, body size, per-client rate limit,
requests at once."""

import hmac
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# /slack/events carries Slack's own signature, which slack-bolt verifies.
OPEN_PATHS = frozenset({"/", "/healthz", "/slack/events"})
OPEN_PREFIXES = ("/static/",)
_MAX_CLIENTS = 10_000  # buckets kept before idle ones are forgotten


def is_open(path: str) -> bool:
    """Paths without the API key or the rate limit: the page, its assets, the liveness
    probe, and Slack's signed events."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


async def send_error(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class ApiKeyMiddleware:
    """With a key configured, every path but the open ones needs `Authorization: Bearer`."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_open(scope["path"]):
            await self._app(scope, receive, send)
            return
        given = (_header(scope, b"authorization") or "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self._expected):  # constant time
            await send_error(
                send,
                401,
                "Missing or wrong API key: send Authorization: Bearer <key>.",
                {"WWW-Authenticate": "Bearer"},
            )
            return
        await self._app(scope, receive, send)


class BodySizeMiddleware:
    """413 for a body over the limit, whether it declares its length or streams it."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max:
            await send_error(send, 413, f"The request body is over {self._max} bytes.")
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._max:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await send_error(send, 413, f"The request body is over {self._max} bytes.")


class _BodyTooLarge(Exception):
    pass


class TokenBucket:
    """Per-client buckets: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        with self._lock:
            now = self._clock()
            if len(self._buckets) > _MAX_CLIENTS:
                self._forget_idle(now)
            tokens, last = self._buckets.get(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            if tokens >= 1:
                self._buckets[client] = (tokens - 1, now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1 - tokens) / self._rate

    def _forget_idle(self, now: float) -> None:
        """A bucket idle long enough to be full again is the same as no bucket."""
        refill = self._burst / self._rate
        self._buckets = {
            c: (t, last) for c, (t, last) in self._buckets.items() if now - last < refill
        }


class RateLimitMiddleware:
    """429 with Retry-After once a client is over the limit. A client is its API key when
    keys are checked (the key middleware runs first), else its address: an unchecked header
    would let anyone pick a fresh bucket."""

    def __init__(self, app: ASGIApp, bucket: TokenBucket, key_by_api_key: bool) -> None:
        self._app = app
        self._bucket = bucket
        self._key_by_api_key = key_by_api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]) or scope["path"] == "/readyz":
            await self._app(scope, receive, send)
            return
        address = str((scope.get("client") or ("?",))[0])
        client = (_header(scope, b"authorization") if self._key_by_api_key else None) or address
        wait = self._bucket.take(str(client))
        if wait > 0:
            await send_error(
                send,
                429,
                "Too many requests; slow down.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
            return
        await self._app(scope, receive, send)


class ConcurrencyLimitMiddleware:
    """At most `limit` requests answered at once; past it, 503 with Retry-After at once.

    An answer costs CPU for tens of milliseconds; past what the cores can serve, a queue
    only adds latency and memory. Refusing early keeps the requests that are served fast
    and tells clients when to come back. Open paths (the page, liveness) are never refused.
    """

    def __init__(self, app: ASGIApp, limit: int, retry_after_s: int = 1) -> None:
        self._app = app
        self._limit = limit
        self._retry_after = str(retry_after_s)
        self._in_flight = 0  # the event loop is single-threaded: no lock is needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_open(scope["path"]) or scope["path"] == "/readyz":
            await self._app(scope, receive, send)
            return
        if self._in_flight >= self._limit:
            await send_error(
                send,
                503,
                "The server is busy answering other questions; try again in a moment.",
                {"Retry-After": self._retry_after},
            )
            return
        self._in_flight += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._in_flight -= 1
