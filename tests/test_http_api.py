"""The HTTP front door through its real app (TestClient), over a real core built on the
deterministic fake embedder and a real Chroma store on disk."""

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.pipeline import IngestPipeline
from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer
from server.assistant import Assistant
from server.contract import Answer, AnswerEvent, CitationsEvent, StoreStatus, Turn
from server.errors import StoreUnavailableError
from server.httpapi.app import create_app
from server.prompts import PromptLibrary
from server.retrieval.hybrid import HybridRetriever
from server.settings import Settings
from server.storage.chroma import open_persistent_client
from server.storage.store import ChunkStore
from tests.fakes import FakeEmbedder, FakeReader
from tests.servers import running_server

PROMPTS = Path(__file__).parent.parent / "prompts"


def build_fake_assistant(folder: Path) -> Assistant:
    """The real core over a tiny corpus, with hashing vectors instead of the model."""
    docs = folder / "docs"
    docs.mkdir(parents=True)
    (docs / "talks.md").write_text(
        "# Talks\n\n## Venue\n\nThe summit was held in Nara. The leaders met for two days.\n\n"
        "## Outcome\n\nThey agreed to strengthen defense cooperation.\n"
    )
    embedder = FakeEmbedder(64)
    store = ChunkStore(open_persistent_client(folder / "store"), "talks", "fake")
    chunker = Chunker(embedder.count_tokens, ChunkingPolicy(64, 40, 1))
    pipeline = IngestPipeline(store, embedder, chunker, folder / "lexical", batch_size=8)
    pipeline.ingest([docs])
    lexical = pipeline.sync_lexical_index()
    # A stand-in reader (tests/fakes.py), and every best sentence answers.
    policy = AnswerPolicy(passages=3, max_sentences=2, threshold=0.0)
    answerer = ExtractiveAnswerer(PromptLibrary(PROMPTS), policy, reader=FakeReader)
    status = StoreStatus(documents=1, chunks=store.count(), store="x", embedding_model="fake")
    return Assistant(
        HybridRetriever(store, lexical, embedder, 10, 60), answerer, lambda: status, 200
    )


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return build_fake_assistant(tmp_path_factory.mktemp("core"))


def make_client(core: Assistant, **overrides: object) -> Iterator[TestClient]:
    settings = Settings.of(store=Path("unused"), rate_limit_per_minute=0, **overrides)  # type: ignore[arg-type]
    app = create_app(settings, assistant_factory=lambda: core)
    with TestClient(app) as client:
        app.state.runtime.wait(10)
        yield client


@pytest.fixture
def client(core: Assistant) -> Iterator[TestClient]:
    yield from make_client(core)


def sse_events(text: str) -> list[tuple[str | None, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        name = next((ln[7:] for ln in block.splitlines() if ln.startswith("event: ")), None)
        data = "\n".join(ln[6:] for ln in block.splitlines() if ln.startswith("data: "))
        events.append((name, data))
    return events


def test_chat_returns_the_answer_json_of_the_command_line(client: TestClient) -> None:
    response = client.post("/chat", json={"message": "Where was the summit held?"})
    answer = Answer.model_validate(response.json())
    assert response.status_code == 200
    assert answer.question == "Where was the summit held?"
    assert answer.answered and "Nara" in answer.answer and "[1]" in answer.answer
    assert answer.citations[0].n == 1 and "Nara" in answer.citations[0].text


def test_chat_uses_history_for_a_follow_up(client: TestClient) -> None:
    history = [{"role": "user", "content": "What did the leaders agree?"}]
    response = client.post("/chat", json={"message": "And defense?", "history": history})
    assert response.status_code == 200
    assert "defense cooperation" in response.json()["answer"]


def test_chat_stream_sends_citations_then_pieces_then_the_answer(client: TestClient) -> None:
    response = client.post("/chat/stream", json={"message": "Where was the summit held?"})
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert names[0] == "citations" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    done = Answer.model_validate_json(events[-1][1])
    assert "".join(json.loads(data)["text"] for _, data in events[1:-1]) == done.answer
    assert json.loads(events[0][1]) == {
        "answered": done.answered,
        "citations": [c.model_dump(mode="json") for c in done.citations],
        "short_answer": done.short_answer,
    }


class FailingAssistant(Assistant):
    """Fails after its first event, as a backend that dies midway would."""

    def __init__(self, inner: Assistant) -> None:
        self.__dict__.update(inner.__dict__)

    def ask_stream(
        self, question: str, history: object = (), scope: object = None
    ) -> Iterator[AnswerEvent]:
        yield CitationsEvent(answered=False, citations=[])
        raise StoreUnavailableError("The store went away.")


def test_a_failure_mid_stream_ends_with_an_error_event(core: Assistant) -> None:
    app = create_app(Settings.of(store=Path("x")), assistant_factory=lambda: FailingAssistant(core))
    with TestClient(app) as client:
        app.state.runtime.wait(10)
        response = client.post("/chat/stream", json={"message": "Where?"})
    events = sse_events(response.text)
    assert [name for name, _ in events] == ["citations", "error"]
    assert json.loads(events[-1][1]) == {"detail": "The store went away."}


def test_search_returns_passages_best_first(client: TestClient) -> None:
    response = client.get("/search", params={"q": "defense cooperation", "k": 2})
    body = response.json()
    assert response.status_code == 200 and body["query"] == "defense cooperation"
    assert "defense" in body["results"][0]["text"]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_the_openai_sdk_gets_a_cited_answer_plain_and_streamed(client: TestClient) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="none", http_client=client)
    [model] = sdk.models.list().data
    question = [{"role": "user", "content": "Where was the summit held?"}]
    completion = sdk.chat.completions.create(model=model.id, messages=question)  # type: ignore[arg-type]
    text = completion.choices[0].message.content or ""
    assert "Nara" in text and "[1]" in text and "Sources:" in text
    assert completion.model_extra and completion.model_extra["citations"][0]["n"] == 1
    stream = sdk.chat.completions.create(model=model.id, messages=question, stream=True)  # type: ignore[arg-type]
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    short = client.post("/chat", json={"message": question[0]["content"]}).json()["short_answer"]
    assert short and text.startswith(f"{short} — ")  # the short answer leads, streamed too
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra and chunks[-1].model_extra["citations"]


@pytest.fixture
def starting_app(core: Assistant) -> Iterator[tuple[FastAPI, threading.Event]]:
    """An app whose assistant loads only once the event is set (at the latest on exit)."""
    release = threading.Event()

    def slow_factory() -> Assistant:
        release.wait(10)
        return core

    yield create_app(Settings.of(store=Path("x")), assistant_factory=slow_factory), release
    release.set()


def test_readyz_is_503_until_the_assistant_is_loaded(
    starting_app: tuple[FastAPI, threading.Event],
) -> None:
    app, release = starting_app
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        waiting = client.get("/readyz")
        chat = client.post("/chat", json={"message": "Where?"})
        release.set()
        app.state.runtime.wait(10)
        ready = client.get("/readyz")
    assert waiting.status_code == 503 and waiting.headers["retry-after"]
    assert chat.status_code == 503 and "starting" in chat.json()["detail"]
    assert ready.json() == {"status": "ready", "documents": 1, "chunks": ready.json()["chunks"]}


def test_a_bad_question_is_422_while_the_assistant_is_still_starting(
    starting_app: tuple[FastAPI, threading.Event],
) -> None:
    app, release = starting_app
    with TestClient(app) as client:
        empty = client.post("/chat", json={"message": "\u200b "})
        long = client.post("/chat/stream", json={"message": "x" * 2001})
        search = client.get("/search", params={"q": "  "})
        completion = client.post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": "y" * 2001}]}
        )
        release.set()
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert long.status_code == 422 and "too long" in long.json()["detail"]
    assert search.status_code == 422 and "empty" in search.json()["detail"]
    assert completion.status_code == 422 and "too long" in completion.json()["detail"]


@pytest.mark.parametrize(
    ("request_args", "status", "fragment"),
    [
        ({"json": {"message": ""}}, 422, "empty"),
        ({"json": {"message": "   "}}, 422, "empty"),
        ({"json": {"message": "x" * 201}}, 422, "too long"),
        ({"json": {"message": 5}}, 422, "message"),
        ({"json": {"message": "Hi", "history": [{"role": "system", "content": "x"}]}}, 422, "role"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"json": {"message": "x" * 300_000}}, 413, "bytes"),
    ],
)
def test_bad_chat_input_gets_a_clear_4xx(
    client: TestClient, request_args: dict[str, object], status: int, fragment: str
) -> None:
    response = client.post("/chat", **request_args)  # type: ignore[arg-type]
    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_a_long_history_is_cut_to_its_latest_turns(client: TestClient) -> None:
    old = [{"role": "user", "content": "Where was the summit held?"}] * 60
    latest = [{"role": "user", "content": "What did the leaders agree?"}]
    response = client.post("/chat", json={"message": "And defense?", "history": old + latest})
    assert response.status_code == 200
    assert "defense cooperation" in response.json()["answer"]


def test_a_failed_start_is_503_with_its_reason_and_retried_until_it_loads(
    core: Assistant,
) -> None:
    attempts: list[int] = []

    def away_twice() -> Assistant:
        attempts.append(1)
        if len(attempts) <= 2:
            raise StoreUnavailableError("The store is not readable.")
        return core

    app = create_app(Settings.of(store=Path("x")), assistant_factory=away_twice)
    with TestClient(app) as client:
        while not attempts:
            threading.Event().wait(0.05)
        failed = client.get("/readyz")
        chat = client.post("/chat", json={"message": "Where was the summit held?"})
        assert app.state.runtime.wait(20), "loaded once the store answered"
        ready = client.get("/readyz")
    assert failed.status_code == 503 and int(failed.headers["retry-after"]) >= 1
    assert "could not be loaded: The store is not readable" in failed.json()["detail"]
    assert chat.status_code == 503 and "retry-after" in chat.headers
    assert ready.status_code == 200 and len(attempts) == 3


def test_openai_requests_need_a_final_user_message(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "Hi"}]}
    )
    assert response.status_code == 422 and "user message" in response.json()["detail"]


def test_an_api_key_guards_everything_but_the_page_the_docs_and_liveness(core: Assistant) -> None:
    for client in make_client(core, api_key="s3cret"):
        assert client.get("/").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 401
        assert client.get("/docs").status_code == 200  # the API's description is public
        assert client.get("/openapi.json").status_code == 200
        wrong = client.post("/chat", json={"message": "Hi"}, headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401 and "API key" in wrong.json()["detail"]
        right = client.get("/readyz", headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200


def test_cors_is_closed_unless_origins_are_configured(core: Assistant) -> None:
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    for client in make_client(core):
        closed = client.options("/chat", headers=preflight)
        assert "access-control-allow-origin" not in closed.headers
    for client in make_client(core, cors_origins=["https://example.org"]):
        opened = client.options("/chat", headers=preflight)
        assert opened.headers["access-control-allow-origin"] == "https://example.org"


def test_a_client_over_the_rate_limit_gets_429_with_retry_after(core: Assistant) -> None:
    settings = Settings.of(store=Path("x"), rate_limit_per_minute=1, rate_limit_burst=2)
    app: FastAPI = create_app(settings, assistant_factory=lambda: core)
    with TestClient(app) as client:
        app.state.runtime.wait(10)
        codes = [client.get("/search", params={"q": "Nara"}).status_code for _ in range(3)]
        limited = client.get("/search", params={"q": "Nara"})
        assert client.get("/healthz").status_code == 200
    assert codes == [200, 200, 429]
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_an_unchecked_authorization_header_does_not_escape_the_rate_limit(
    core: Assistant,
) -> None:
    settings = Settings.of(store=Path("x"), rate_limit_per_minute=1, rate_limit_burst=1)
    app: FastAPI = create_app(settings, assistant_factory=lambda: core)
    with TestClient(app) as client:
        app.state.runtime.wait(10)
        codes = [
            client.get(
                "/search", params={"q": "Nara"}, headers={"Authorization": f"Bearer {n}"}
            ).status_code
            for n in range(3)
        ]
    assert codes == [200, 429, 429]


def test_history_turns_validate_as_the_core_type() -> None:
    assert Turn(role="user", content="x").role == "user"


class HeldAssistant(Assistant):
    """Answers only once released, so a test can hold requests in flight."""

    def __init__(self, inner: Assistant, release: threading.Event) -> None:
        self.__dict__.update(inner.__dict__)
        self.release = release
        self.started = threading.Semaphore(0)

    def ask_stream(
        self, question: str, history: object = (), scope: object = None
    ) -> Iterator[AnswerEvent]:
        self.started.release()
        self.release.wait(30)
        yield from super().ask_stream(question)


def test_a_request_past_the_concurrency_limit_waits_its_turn_then_gets_503(
    core: Assistant,
) -> None:
    release = threading.Event()
    held = HeldAssistant(core, release)
    settings = Settings.of(
        store=Path("x"), rate_limit_per_minute=0, max_concurrent_requests=2, queue_seconds=0.5
    )
    with running_server(settings, lambda: held) as server:
        url = f"{server.url}/chat"
        with ThreadPoolExecutor(2) as pool:
            busy = [pool.submit(httpx.post, url, json={"message": "Where?"}, timeout=30)]
            busy.append(pool.submit(httpx.post, url, json={"message": "Where?"}, timeout=30))
            assert held.started.acquire(timeout=10) and held.started.acquire(timeout=10)
            refused = httpx.post(url, json={"message": "Where?"})
            assert httpx.get(f"{server.url}/healthz").status_code == 200, "open paths pass"
            assert httpx.get(f"{server.url}/openapi.json").status_code == 200, "only answers wait"
            release.set()
            assert [f.result().status_code for f in busy] == [200, 200]
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "busy" in refused.json()["detail"]
        assert httpx.post(url, json={"message": "Where?"}).status_code == 200, "slots come back"


def test_a_request_past_the_concurrency_limit_is_answered_when_a_slot_frees(
    core: Assistant,
) -> None:
    release = threading.Event()
    held = HeldAssistant(core, release)
    settings = Settings.of(store=Path("x"), rate_limit_per_minute=0, max_concurrent_requests=1)
    with running_server(settings, lambda: held) as server:
        url = f"{server.url}/chat"
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(httpx.post, url, json={"message": "Where?"}, timeout=30)
            assert held.started.acquire(timeout=10)
            waiting = pool.submit(httpx.post, url, json={"message": "Where?"}, timeout=30)
            assert not held.started.acquire(timeout=0.5), "the second waits for the first"
            release.set()
            assert [first.result().status_code, waiting.result().status_code] == [200, 200]


def test_chat_as_of_a_day_reads_undated_documents_and_refuses_a_bad_day(
    client: TestClient,
) -> None:
    message = "Where was the summit held?"
    answered = client.post("/chat", json={"message": message, "as_of": "2024-03-01"})
    assert answered.status_code == 200 and "Nara" in answered.json()["answer"]
    bad = client.post("/chat", json={"message": message, "as_of": "last week"})
    assert bad.status_code == 422 and "detail" in bad.json()
