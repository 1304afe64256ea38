"""Request guards as plain ASGI middleware: API key, body size, per-client rate limit,
requests at once."""

import hmac
import ipaddress
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
log = logging.getLogger(__name__)

# /slack/events carries Slack's own signature, which slack-bolt verifies. The API's
# description (/docs, its assets under /static/, /openapi.json) is public, as in most APIs.
OPEN_PATHS = frozenset({"/", "/healthz", "/slack/events", "/docs", "/openapi.json"})
OPEN_PREFIXES = ("/static/",)
# What costs model time (an embedding, a search, an answer): only these are rate-limited
# and queued, so a page's assets, the docs and the probes never wait or get 429. Another
# method on these paths is a cheap 405 (and OPTIONS passes the key check for CORS, so an
# unchecked Authorization header must never reach the limiter).
METERED = frozenset(
    {
        ("POST", "/chat"),
        ("POST", "/chat/stream"),
        ("GET", "/search"),
        ("POST", "/v1/chat/completions"),
    }
)
_MAX_CLIENTS = 10_000  # buckets kept; past it the least recently used is forgotten
_QUEUE_PER_SLOT = 4  # requests that may wait for each slot; past that, 503 at once


def is_open(scope: Scope) -> bool:
    """Paths without the API key: the page, its assets, the API's description, the
    liveness probe, and Slack's signed events."""
    path = route_path(scope)
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def is_metered(scope: Scope) -> bool:
    return scope["type"] == "http" and (
        (scope["method"], route_path(scope)) in METERED or is_write(scope)
    )


def is_write(scope: Scope) -> bool:
    """A request that changes what the store holds: a document added or removed."""
    path = route_path(scope)
    return scope["type"] == "http" and (
        (scope["method"] == "POST" and path == "/documents")
        or (scope["method"] == "DELETE" and path.startswith("/documents/"))
    )


def route_path(scope: Scope) -> str:
    """The path the app routes on: behind a proxy's prefix (--root-path), uvicorn puts the
    prefix in the path too."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    return path[len(root) :] or "/" if root and path.startswith(root) else path


async def send_error(
    send: Send, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    await send_json(send, status, {"detail": detail}, headers)


async def send_json(
    send: Send, status: int, payload: dict[str, str], headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(payload).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def request_id(scope: Scope) -> str:
    """The id RequestIdMiddleware gave the request (server/httpapi/failures.py)."""
    return str(scope.get("state", {}).get("request_id", "-"))


class ApiKeyMiddleware:
    """With a key configured, every path but the open ones needs `Authorization: Bearer`."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        self._app = app
        self._expected = f"Bearer {api_key}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or is_open(scope):
            await self._app(scope, receive, send)
            return
        given = (header(scope, b"authorization") or "").encode("latin-1", "replace")
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
    """413 for a body over the limit, whether it declares its length or streams it; an
    upload of documents has a limit of its own."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self._app = app
        self._max = max_bytes
        self._max_upload = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        limit = self._max_upload if is_write(scope) else self._max
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, f"The request body is over {limit} bytes.")
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        # The app's HTTPException handler answers the 413 (server/httpapi/failures.py).
        await self._app(scope, limited_receive, send)


class _BodyTooLarge(HTTPException):
    """Raised while the app reads the body: FastAPI turns any other exception raised there
    into a 400 "error parsing the body", but re-raises an HTTPException as it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is over {limit} bytes.")


class TokenBucket:
    """Per-client buckets: `burst` requests at once, refilled at `per_minute`."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic):
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._clock = clock
        # Least recently used first: forgetting one is O(1), so a flood of new clients
        # costs each request the same (a forgotten client only gets a full bucket back).
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.pop(client, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            taken = tokens >= 1
            self._buckets[client] = (tokens - 1 if taken else tokens, now)
            while len(self._buckets) > _MAX_CLIENTS:
                self._buckets.popitem(last=False)
            return 0.0 if taken else (1 - tokens) / self._rate

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimitMiddleware:
    """429 with Retry-After once a client is over its limit on the metered paths.

    A client is its address (an IPv6 one its /64), never a header it sends: else anyone
    could take a fresh bucket per request. (There is one API key, so it tells no clients
    apart.)
    """

    def __init__(self, app: ASGIApp, bucket: TokenBucket) -> None:
        self._app = app
        self._bucket = bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_metered(scope):
            await self._app(scope, receive, send)
            return
        wait = self._bucket.take(_network(str((scope.get("client") or ("?",))[0])))
        if wait > 0:
            await send_error(
                send,
                429,
                "Too many requests; slow down.",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )
            return
        await self._app(scope, receive, send)


def _network(address: str) -> str:
    """An IPv6 client is its /64, which one host or household gets whole: else one client
    could take a fresh bucket per address."""
    if ":" not in address:
        return address
    try:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    except ValueError:
        return address


class ConcurrencyLimitMiddleware:
    """At most `limit` metered requests answered at once; the next ones wait their turn up
    to `max_wait_s` (a burst is served a little later rather than refused), and past that,
    or when too many already wait, get 503 with Retry-After.

    The queue is bounded: on two cores, a crowd of waiting requests only adds latency and
    memory, and tells clients nothing about when to come back.
    """

    def __init__(
        self, app: ASGIApp, limit: int, max_wait_s: float = 10.0, retry_after_s: int = 1
    ) -> None:
        self._app = app
        self._slots = anyio.Semaphore(limit)
        self._max_waiting = limit * _QUEUE_PER_SLOT
        self._waiting = 0  # the event loop is single-threaded: no lock is needed
        self._max_wait_s = max_wait_s
        self._retry_after = str(retry_after_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_metered(scope):
            await self._app(scope, receive, send)
            return
        if not await self._turn():
            log.warning("request %s: 503, busy (%d waiting)", request_id(scope), self._waiting)
            await send_error(
                send,
                503,
                "The server is busy answering other questions; try again in a moment.",
                {"Retry-After": self._retry_after},
            )
            return
        try:
            await self._app(scope, receive, send)
        finally:
            self._slots.release()

    async def _turn(self) -> bool:
        """True once a slot is taken; False if none came free in time."""
        try:
            self._slots.acquire_nowait()
            return True
        except anyio.WouldBlock:
            pass
        if self._max_wait_s <= 0 or self._waiting >= self._max_waiting:
            return False
        self._waiting += 1
        try:
            with anyio.move_on_after(self._max_wait_s):
                await self._slots.acquire()
                return True
            return False
        finally:
            self._waiting -= 1
