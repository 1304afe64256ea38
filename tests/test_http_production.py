"""The HTTP door under production faults: per-client rate limits, what is limited, the
loading and refresh thread retrying with /readyz telling the truth, one error mapping with
request ids, streams closed when their client leaves, and malformed requests answered as
JSON. Real uvicorn on loopback where the transport matters; the real core over the
deterministic fake embedder (tests/test_http_api.py)."""

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from server.assistant import Assistant
from server.contract import AnswerEvent
from server.errors import StoreUnavailableError
from server.httpapi.app import create_app
from server.httpapi.limits import TokenBucket
from server.prompts import PromptError
from server.settings import Settings
from tests.servers import running_server
from tests.test_http_api import build_fake_assistant

QUESTION = {"message": "Where was the summit held?"}


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return build_fake_assistant(tmp_path_factory.mktemp("core"))


class Faulty(Assistant):
    """The real core, with one fault injected where the test says."""

    def __init__(self, inner: Assistant, fault: BaseException | None = None) -> None:
        self.__dict__.update(inner.__dict__)
        self.fault = fault
        self.refresh_faults: list[BaseException] = []
        self.refreshes = 0

    def ask_stream(
        self, question: str, history: object = (), scope: object = None
    ) -> Iterator[AnswerEvent]:
        events = super().ask_stream(question)
        yield next(events)  # the citations: a stream has begun when the fault comes
        if self.fault is not None:
            raise self.fault
        yield from events

    def refresh(self) -> bool:
        self.refreshes += 1
        if self.refresh_faults:
            raise self.refresh_faults.pop(0)
        return False


def settings(**overrides: object) -> Settings:
    return Settings.of(store=Path("unused"), **overrides)  # type: ignore[arg-type]


def test_clients_sharing_one_api_key_have_a_rate_limit_each(core: Assistant) -> None:
    auth = {"Authorization": "Bearer s3cret"}
    limited = settings(api_key="s3cret", rate_limit_per_minute=1, rate_limit_burst=2)
    with running_server(limited, lambda: core, headers=auth) as server:
        busy = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.1"))
        other = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with busy, other:
            codes = [
                busy.post(f"{server.url}/chat", json=QUESTION, headers=auth).status_code
                for _ in range(3)
            ]
            answered = other.post(f"{server.url}/chat", json=QUESTION, headers=auth)
    assert codes == [200, 200, 429]
    assert answered.status_code == 200, "another address with the same key has its own budget"


def test_only_the_endpoints_that_cost_model_time_are_rate_limited(core: Assistant) -> None:
    limited = settings(rate_limit_per_minute=1, rate_limit_burst=1)
    app = create_app(limited, assistant_factory=lambda: core)
    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        for _ in range(5):
            for path in ("/", "/static/app.js", "/docs", "/openapi.json", "/readyz", "/healthz"):
                assert client.get(path).status_code == 200, path
            assert client.get("/v1/models").status_code == 200
        first = client.get("/search", params={"q": "Nara"})
        second = client.post("/chat", json=QUESTION)
    assert (first.status_code, second.status_code) == (200, 429)


def test_a_refresh_that_fails_is_retried_and_readyz_says_stale_meanwhile(
    core: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    faulty = Faulty(core)
    faulty.refresh_faults = [RuntimeError("bm25s exploded"), MemoryError()]
    app = create_app(settings(refresh_seconds=0.1), assistant_factory=lambda: faulty)
    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        stale = wait_for_status(client, 503)
        answered = client.post("/chat", json=QUESTION)
        fresh = wait_for_status(client, 200)
    assert "could not be refreshed (RuntimeError)" in stale.json()["detail"]
    assert "indexes loaded before" in stale.json()["detail"]
    assert "bm25s exploded" not in stale.json()["detail"], "internal text stays in the log"
    assert int(stale.headers["retry-after"]) >= 1
    assert answered.status_code == 200, "answers go on from the indexes loaded before"
    assert fresh.status_code == 200 and faulty.refreshes >= 3
    logged = [r for r in caplog.records if "could not be refreshed" in r.getMessage()]
    assert [type(r.exc_info[1]) for r in logged if r.exc_info][:2] == [RuntimeError, MemoryError]


def wait_for_status(client: TestClient, status: int, timeout: float = 15) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


class BriefOutage(StoreUnavailableError):
    """A subclass of an unavailable error: mapped by its base, not its exact class."""


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (BriefOutage("The store is not answering; try again shortly."), 503),
        (PromptError("Missing prompt file /srv/summit/prompts/no_answer.txt."), 500),
        (RuntimeError("an internal detail"), 500),
    ],
)
def test_errors_are_mapped_by_kind_and_every_5xx_is_logged_with_its_request_id(
    core: Assistant, caplog: pytest.LogCaptureFixture, fault: Exception, status: int
) -> None:
    faulty = Faulty(core, fault)
    app = create_app(settings(rate_limit_per_minute=0), assistant_factory=lambda: faulty)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert app.state.runtime.wait(10)
        response = client.post("/chat", json=QUESTION, headers={"X-Request-ID": "req-42"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "req-42"
    body = response.json()
    if status == 503:
        assert body["detail"] == str(fault) and int(response.headers["retry-after"]) >= 1
    else:
        assert body == {
            "detail": "Internal error; it has been logged with request id req-42.",
            "request_id": "req-42",
        }
    logged = [r for r in caplog.records if "req-42" in r.getMessage()]
    assert logged and logged[0].levelno >= logging.WARNING
    assert status == 503 or logged[0].exc_info is not None, "a 500 is logged with its cause"


def test_a_failure_midway_through_a_stream_ends_it_with_the_request_id(
    core: Assistant, caplog: pytest.LogCaptureFixture
) -> None:
    faulty = Faulty(core, RuntimeError("an internal detail"))
    app = create_app(settings(rate_limit_per_minute=0), assistant_factory=lambda: faulty)
    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        response = client.post("/chat/stream", json=QUESTION, headers={"X-Request-ID": "s-7"})
    assert response.status_code == 200
    assert response.text.startswith("event: citations")
    assert "event: error" in response.text and "request id s-7" in response.text
    assert "an internal detail" not in response.text
    assert any("s-7" in r.getMessage() and r.exc_info for r in caplog.records)


class Endless(Assistant):
    """A stream that would go on for a minute, recording when it is closed."""

    def __init__(self, inner: Assistant) -> None:
        self.__dict__.update(inner.__dict__)
        self.produced = 0
        self.closed = threading.Event()

    def ask_stream(
        self, question: str, history: object = (), scope: object = None
    ) -> Iterator[AnswerEvent]:
        events = list(super().ask_stream(question))
        try:
            yield events[0]
            for _ in range(600):
                time.sleep(0.1)
                self.produced += 1
                yield events[1]
        finally:
            self.closed.set()


def test_a_stream_whose_client_leaves_is_closed(core: Assistant) -> None:
    endless = Endless(core)
    with running_server(settings(rate_limit_per_minute=0), lambda: endless) as server:
        with httpx.stream("POST", f"{server.url}/chat/stream", json=QUESTION) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("event: citations")
        assert endless.closed.wait(10), "the producer was closed when its client left"
        produced = endless.produced
        time.sleep(0.5)
        assert endless.produced == produced, "and produces nothing after"


def raw_request(port: int, request: bytes) -> bytes:
    """What the server answered, read even if it stopped reading the request midway."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        with contextlib.suppress(OSError):
            connection.sendall(request)
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := connection.recv(65536):
                received += chunk
    return received


def test_malformed_requests_get_json_4xx_like_every_other_error(core: Assistant) -> None:
    with running_server(settings(rate_limit_per_minute=0), lambda: core) as server:
        bad_utf8 = httpx.post(
            f"{server.url}/chat",
            content=b'{"message": "\xff\xfe Nara"}',
            headers={"Content-Type": "application/json"},
        )
        long_url = raw_request(
            server.port,
            b"GET /search?q=" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        )
    assert bad_utf8.status_code == 400 and "UTF-8" in bad_utf8.json()["detail"]
    head, _, body = long_url.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert b'"detail"' in body and b"64 kB" in body


def test_no_unchecked_authorization_header_picks_a_rate_limit_bucket(core: Assistant) -> None:
    limited = settings(api_key="s3cret", rate_limit_per_minute=1, rate_limit_burst=1)
    app = create_app(limited, assistant_factory=lambda: core)
    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        right = {"Authorization": "Bearer s3cret"}
        assert client.post("/chat", json=QUESTION, headers=right).status_code == 200
        for n in range(3):  # OPTIONS passes the key check (CORS); another method is a 405
            forged = {"Authorization": f"Bearer forged-{n}"}
            assert client.options("/chat", headers=forged).status_code != 429
            assert client.get("/chat", headers=right).status_code == 405
        assert client.post("/chat", json=QUESTION, headers=right).status_code == 429


def test_rate_limit_buckets_are_bounded_and_keep_the_latest_clients() -> None:
    bucket = TokenBucket(per_minute=1, burst=1, clock=lambda: 0.0)
    assert bucket.take("first") == 0.0
    for n in range(25_000):
        bucket.take(f"client-{n}")
    assert len(bucket) == 10_000
    assert bucket.take("client-24999") > 0, "a recent client keeps its empty bucket"
    assert bucket.take("first") == 0.0, "the least recently used was forgotten"


def test_without_queueing_a_free_slot_still_answers(core: Assistant) -> None:
    app = create_app(settings(rate_limit_per_minute=0, queue_seconds=0), lambda: core)
    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        assert client.post("/chat", json=QUESTION).status_code == 200


def test_a_streamed_body_over_the_limit_is_413(core: Assistant) -> None:
    app = create_app(settings(rate_limit_per_minute=0, max_body_bytes=1024), lambda: core)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"message": "'
        for _ in range(64):
            yield b"x" * 64
        yield b'"}'

    with TestClient(app) as client:
        assert app.state.runtime.wait(10)
        response = client.post(
            "/chat", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413 and "over 1024 bytes" in response.json()["detail"]
