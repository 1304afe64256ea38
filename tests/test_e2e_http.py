"""End to end over real HTTP: `create_app` under uvicorn on a loopback port, the real
embedding model, a real Chroma store on disk, and the openai SDK as a client."""

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from server.contract import Answer
from server.settings import Settings
from tests.servers import running_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    store = tmp_path_factory.mktemp("http") / "store"
    with running_server(Settings.of(store=store, rate_limit_per_minute=0)) as server:
        yield server.url


def test_readyz_reports_the_ingested_corpus(base_url: str) -> None:
    body = httpx.get(f"{base_url}/readyz").json()
    assert body["status"] == "ready" and body["documents"] == 1 and body["chunks"] >= 4


def test_chat_names_nara_with_a_cited_source(base_url: str) -> None:
    response = httpx.post(f"{base_url}/chat", json={"message": "Where was the summit held?"})
    answer = Answer.model_validate(response.json())
    assert answer.answered and "Nara" in answer.answer
    assert any("Nara" in c.text and f"[{c.n}]" in answer.answer for c in answer.citations)


def test_a_follow_up_is_answered_from_the_history(base_url: str) -> None:
    history = [{"role": "user", "content": "Where were the remains found?"}]
    response = httpx.post(
        f"{base_url}/chat",
        json={"message": "What analysis will be done on them?", "history": history},
    )
    assert "DNA analysis" in response.json()["answer"]


def test_chat_stream_arrives_as_server_sent_events(base_url: str) -> None:
    names = []
    with httpx.stream(
        "POST", f"{base_url}/chat/stream", json={"message": "What could impact Japan's politics?"}
    ) as response:
        for line in response.iter_lines():
            if line.startswith("event: "):
                names.append(line[7:])
            elif line.startswith("data: ") and names[-1] == "done":
                assert "snap election" in json.loads(line[6:])["answer"]
    assert names[0] == "citations" and names[-1] == "done" and "delta" in names


def test_the_openai_sdk_works_unchanged(base_url: str) -> None:
    client = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused")
    messages = [{"role": "user", "content": "Where was the summit held?"}]
    model = client.models.list().data[0].id
    completion = client.chat.completions.create(model=model, messages=messages)  # type: ignore[arg-type]
    text = completion.choices[0].message.content or ""
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(model=model, messages=messages, stream=True)  # type: ignore[arg-type]
    )
    assert "Nara" in text and "[1]" in text and "Sources:" in text
    assert streamed == text
    client.close()


def test_bad_input_over_real_http_is_a_4xx(base_url: str) -> None:
    assert (
        httpx.post(
            f"{base_url}/chat", content=b"{", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    assert httpx.get(f"{base_url}/search", params={"q": "x", "k": 0}).status_code == 422
    assert httpx.post(f"{base_url}/chat", json={"message": "x" * 2001}).status_code == 422


def test_the_page_and_the_docs_are_served(base_url: str) -> None:
    assert "<html" in httpx.get(base_url).text.lower()
    assert httpx.get(f"{base_url}/docs").status_code == 200
    paths = httpx.get(f"{base_url}/openapi.json").json()["paths"]
    assert {"/chat", "/chat/stream", "/search", "/v1/chat/completions", "/readyz"} <= set(paths)
