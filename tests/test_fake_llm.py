"""The fake language-model server works with the real client libraries, over real HTTP."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import openai
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_ollama import ChatOllama
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from tests.fake_llm import FakeLlmServer, Reply

QUESTION: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Where is the summit?"}]


@pytest.fixture
def server() -> Iterator[FakeLlmServer]:
    with FakeLlmServer() as fake:
        yield fake


@pytest.fixture
def client(server: FakeLlmServer) -> Iterator[openai.OpenAI]:
    # No retries: a retried request would consume the next scripted reply.
    with openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def chat_openai(server: FakeLlmServer) -> ChatOpenAI:
    return ChatOpenAI(
        base_url=server.base_url, api_key=SecretStr("test"), model="fake-model", max_retries=0
    )


def test_openai_sdk_gets_scripted_reply(server: FakeLlmServer, client: openai.OpenAI) -> None:
    server.script(Reply("In Geneva [1]."))

    completion = client.chat.completions.create(model="my-model", messages=QUESTION)

    assert completion.choices[0].message.content == "In Geneva [1]."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "my-model"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3


def test_scripted_replies_come_in_order_then_the_default(
    server: FakeLlmServer, client: openai.OpenAI
) -> None:
    server.script(Reply("first"), Reply("second"))

    answers = [
        client.chat.completions.create(model="m", messages=QUESTION).choices[0].message.content
        for _ in range(3)
    ]

    assert answers == ["first", "second", "I cannot tell."]


def test_default_can_answer_from_the_request() -> None:
    def echo(request: dict[str, Any]) -> Reply:
        return Reply(f"echo: {request['messages'][-1]['content']}")

    with (
        FakeLlmServer(default=echo) as server,
        openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0) as sdk,
    ):
        completion = sdk.chat.completions.create(model="m", messages=QUESTION)

    assert completion.choices[0].message.content == "echo: Where is the summit?"


def test_openai_sdk_streams_chunks_that_join_to_the_reply(
    server: FakeLlmServer, client: openai.OpenAI
) -> None:
    text = "  The summit  is\nin Geneva, [1].  "
    server.script(Reply(text, chunk_words=2))

    with client.chat.completions.create(
        model="m", messages=QUESTION, stream=True, stream_options={"include_usage": True}
    ) as stream:
        chunks = list(stream)

    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    pieces = [delta.content for delta in deltas if delta.content]
    assert "".join(pieces) == text
    assert len(pieces) == 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6


def test_chat_openai_langchain_streams(server: FakeLlmServer) -> None:
    server.script(Reply("The summit is in Geneva."), Reply("Invoked."))
    model = chat_openai(server)

    pieces = [chunk.content for chunk in model.stream([HumanMessage("Where?")])]

    assert "".join(str(piece) for piece in pieces) == "The summit is in Geneva."
    assert len([piece for piece in pieces if piece]) == 3
    assert server.requests[0]["stream"] is True
    assert model.invoke("Again?").content == "Invoked."


def test_chat_ollama_langchain_invoke_and_stream(server: FakeLlmServer) -> None:
    server.script(Reply("In Geneva."), Reply("The summit is in Geneva.", chunk_words=1))
    model = ChatOllama(base_url=server.ollama_url, model="fake-model", validate_model_on_init=True)

    answer = model.invoke("Where?")
    pieces = [str(chunk.content) for chunk in model.stream("Where?")]

    assert answer.content == "In Geneva."
    assert answer.usage_metadata is not None
    assert answer.usage_metadata["output_tokens"] == 2
    assert "".join(pieces) == "The summit is in Geneva."
    assert len([piece for piece in pieces if piece]) == 5
    assert [request["stream"] for request in server.requests] == [True, True]  # even invoke


def test_ollama_client_lists_shows_and_answers_without_streaming(server: FakeLlmServer) -> None:
    server.script(Reply("In Geneva."))

    with ollama.Client(host=server.ollama_url) as client:
        names = [model.model for model in client.list().models]
        details = client.show("fake-model").details
        response = client.chat(model="fake-model", messages=QUESTION, stream=False)

    assert names == ["fake-model:latest"]
    assert details is not None
    assert response.message.content == "In Geneva."
    assert response.done is True
    assert response.done_reason == "stop"


def test_delay_makes_client_time_out() -> None:
    with FakeLlmServer() as server:
        server.script(Reply("Too late.", delay=3.0))
        with (
            openai.OpenAI(
                base_url=server.base_url, api_key="test", timeout=0.5, max_retries=0
            ) as client,
            pytest.raises(openai.APITimeoutError),
        ):
            client.chat.completions.create(model="m", messages=QUESTION)

        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
    assert len(server.requests) == 1


def test_delay_makes_chat_ollama_time_out(server: FakeLlmServer) -> None:
    server.script(Reply("Too late.", delay=3.0))
    model = ChatOllama(base_url=server.ollama_url, model="m", client_kwargs={"timeout": 0.5})

    with pytest.raises(httpx.ReadTimeout):  # the ollama client does not wrap timeouts
        model.invoke("Where?")


def test_requests_are_recorded_with_messages(server: FakeLlmServer, client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt", messages=QUESTION, temperature=0)
    ChatOllama(base_url=server.ollama_url, model="llama").invoke(
        [SystemMessage("Cite passages."), HumanMessage("Where is the summit?")]
    )

    first, second = server.requests
    assert first["model"] == "gpt"
    assert first["messages"] == QUESTION
    assert first["temperature"] == 0
    assert second["model"] == "llama"
    assert second["messages"] == [
        {"role": "system", "content": "Cite passages."},
        {"role": "user", "content": "Where is the summit?"},
    ]


def test_error_status_is_raised_by_sdk(server: FakeLlmServer, client: openai.OpenAI) -> None:
    server.script(Reply("overloaded", status=503), Reply("no such model", status=404))

    with pytest.raises(openai.InternalServerError) as openai_error:
        client.chat.completions.create(model="m", messages=QUESTION)
    with (
        ollama.Client(host=server.ollama_url) as ollama_client,
        pytest.raises(ollama.ResponseError) as ollama_error,
    ):
        list(ollama_client.chat(model="m", messages=QUESTION, stream=True))

    assert openai_error.value.status_code == 503
    assert "overloaded" in openai_error.value.message
    assert ollama_error.value.status_code == 404
    assert ollama_error.value.error == "no such model"


def test_garbage_body_fails_the_client(server: FakeLlmServer, client: openai.OpenAI) -> None:
    server.script(*[Reply(raw="garbage")] * 3)

    # Neither SDK wraps a body that is not JSON: it surfaces as json.JSONDecodeError.
    with pytest.raises(ValueError):
        client.chat.completions.create(model="m", messages=QUESTION)
    # A streamed garbage body is silently empty to the openai SDK; LangChain then complains.
    with pytest.raises(ValueError, match="No generation chunks"):
        list(chat_openai(server).stream("Where?"))
    with pytest.raises(ValueError):
        ChatOllama(base_url=server.ollama_url, model="m").invoke("Where?")
