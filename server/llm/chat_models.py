"""Language-model backends, picked by settings, and the one way the core talks to them.

The LangChain chat model is wrapped in `ReplyStream`, which turns every way a backend can
fail (unreachable, refusing, too slow, unreadable) into `GenerationError`, so the answerer
falls back to the extractive answer instead of failing the request. Each call to the model
has its own deadline, `llm_timeout`: a follow-up makes two calls (condense, then answer).
"""

import logging
import queue
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from server.errors import SummitError
from server.settings import LlmSettings

if TYPE_CHECKING:  # the backends' client libraries load only when a model is configured
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)
_OLLAMA_URL = "http://127.0.0.1:11434"
_NO_KEY = "not-needed"  # local OpenAI-compatible servers take any key; the client needs one


class GenerationError(Exception):
    """The model gave no usable reply; the reason is logged, never shown to users."""


class BackendMissingError(SummitError):
    def __init__(self, backend: str, package: str) -> None:
        super().__init__(
            f"SUMMIT_LLM={backend} needs the {package} package: "
            f"pip install 'summit-assistant[{backend}]'"
        )


def build_chat_model(settings: LlmSettings) -> "BaseChatModel | None":
    """The configured chat model, or None for the extractive answerer."""
    if settings.backend == "openai":
        return _openai(settings)
    if settings.backend == "ollama":
        return _ollama(settings)
    return None


def _openai(settings: LlmSettings) -> "BaseChatModel":
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise BackendMissingError("openai", "langchain-openai") from exc
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else _NO_KEY
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,  # type: ignore[arg-type]
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,  # type: ignore[call-arg]
        timeout=settings.llm_timeout,
        max_retries=0,  # the extractive answer is the fallback; retries only add waiting
    )


def _ollama(settings: LlmSettings) -> "BaseChatModel":
    try:
        from langchain_ollama import ChatOllama
    except ImportError as exc:
        raise BackendMissingError("ollama", "langchain-ollama") from exc
    headers = (
        {"Authorization": f"Bearer {settings.llm_api_key.get_secret_value()}"}
        if settings.llm_api_key
        else {}
    )
    return ChatOllama(
        model=settings.llm_model,
        base_url=settings.llm_base_url or _OLLAMA_URL,
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
        client_kwargs={"timeout": settings.llm_timeout, "headers": headers},
    )


class ReplyStream:
    """The model's reply as text pieces, within a deadline for the whole reply.

    The client library reads in a worker thread and hands pieces over a queue, so the
    deadline holds even while a read blocks (a stalled server would otherwise keep the
    request waiting for the client's own read timeout on every read).
    """

    def __init__(self, model: "BaseChatModel", timeout: float) -> None:
        self._model = model
        self._timeout = timeout

    def stream(self, messages: "list[BaseMessage]") -> Iterator[str]:
        deadline = time.monotonic() + self._timeout
        pieces: queue.Queue[str | BaseException | None] = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=self._read, args=(messages, pieces, stop), daemon=True).start()
        try:
            while (piece := self._next(pieces, deadline)) is not None:
                yield piece
        finally:
            stop.set()  # the reader gives up at its next piece

    def complete(self, messages: "list[BaseMessage]") -> str:
        return "".join(self.stream(messages))

    def _read(
        self,
        messages: "list[BaseMessage]",
        pieces: "queue.Queue[str | BaseException | None]",
        stop: threading.Event,
    ) -> None:
        try:
            for chunk in self._model.stream(messages):
                if stop.is_set():
                    return
                if text := chunk.text:
                    pieces.put(text)
            pieces.put(None)
        except Exception as exc:
            # Any failure of the backend's client (connection, HTTP status, timeout, a body
            # it cannot parse) means the same thing here: no usable reply.
            pieces.put(exc)

    def _next(
        self, pieces: "queue.Queue[str | BaseException | None]", deadline: float
    ) -> str | None:
        try:
            item = pieces.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:
            log.warning("language model gave no complete reply within %s s", self._timeout)
            raise GenerationError("timeout") from None
        if isinstance(item, BaseException):
            log.warning("language model failed: %s: %s", type(item).__name__, item)
            raise GenerationError(type(item).__name__) from item
        return item
