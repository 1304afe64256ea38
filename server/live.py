"""The assistant a long-running front door answers with, kept loaded and current.

The HTTP server, the Slack Socket Mode runner and `summit chat` each hold one LiveAssistant.
A background thread loads the assistant unless the door loaded it already (retrying with
backoff while the store or model is not there yet), then checks every few seconds whether an
ingest changed the store and refreshes the indexes. No failure ends the thread: each is
logged with its cause and retried, and `readiness()` says whether answers come from indexes
known to be current, and if not, why.
"""

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from server.assistant import Assistant, clean_question
from server.errors import NotReadyError, SummitError

AssistantFactory = Callable[[], Assistant]
Part = TypeVar("Part")
log = logging.getLogger(__name__)
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 60.0
STOP_WAIT_S = 5.0  # how long a restart waits for the stopped thread before starting anew
_STARTING = "The assistant is starting; try again in a few seconds."


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str | None = None
    retry_after_s: int = 0


@dataclass(frozen=True)
class _State:
    """Swapped whole, so a reader never sees an assistant with another state's problem."""

    assistant: Assistant | None = None
    problem: str | None = None  # why it is not loaded, or why the last refresh failed
    next_try: float = 0.0  # time.monotonic() of the next attempt, while there is a problem


class Backoff:
    """Waits that double from `first` up to `most`; back to `first` after a success."""

    def __init__(self, first: float, most: float) -> None:
        self._first, self._most = first, most
        self._next = first

    def next(self) -> float:
        wait = self._next
        self._next = min(self._most, self._next * 2)
        return wait

    def reset(self) -> None:
        self._next = self._first


def kept_current(build: AssistantFactory, refresh_seconds: float) -> "LiveAssistant":
    """An assistant loaded now, in the caller's thread (its errors are the caller's), and
    kept current from then on: what the interactive doors (`summit chat`, the Socket Mode
    bot) hold. `summit serve` loads in the background instead, to answer /healthz at once."""
    live = LiveAssistant(build, refresh_seconds)
    live.load()
    live.start()
    return live


class OnDemand(Generic[Part]):
    """A part (the assistant, or search alone) built at the first question the core accepts,
    in the caller's thread: what `summit ask` and `summit search` hold, so that a bad
    question is refused before the model loads or an empty store is filled."""

    def __init__(self, build: Callable[[], Part], max_question_chars: int) -> None:
        self._build = build
        self._max_chars = max_question_chars
        self._built: Part | None = None

    def for_question(self, question: str) -> Part:
        clean_question(question, self._max_chars)  # an InvalidInputError before any work
        if self._built is None:
            self._built = self._build()
        return self._built


class LiveAssistant:
    def __init__(
        self,
        build: AssistantFactory,
        refresh_seconds: float,
        first_retry_s: float = FIRST_RETRY_S,
        max_retry_s: float = MAX_RETRY_S,
        max_question_chars: int | None = None,
    ) -> None:
        self._build = build
        self._max_chars = max_question_chars
        self._refresh_s = refresh_seconds
        self._backoff = Backoff(first_retry_s, max(first_retry_s, max_retry_s))
        # A failing refresh is retried sooner than a failing start: answers are being
        # served from indexes that may be stale meanwhile.
        self._max_refresh_wait = max(4 * refresh_seconds, first_retry_s)
        self._state = _State()
        self._loaded = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> Assistant:
        """Loads the assistant now, in the caller's thread; its errors are the caller's."""
        assistant = self._build()
        self._state = _State(assistant)
        self._loaded.set()
        return assistant

    def start(self) -> None:
        """Loads (unless `load` did) and then keeps fresh in a background thread; again
        after `stop` (an app run through a second lifespan)."""
        if self._thread is not None and self._thread.is_alive():
            if not self._stopped.is_set():
                return
            self._thread.join(timeout=STOP_WAIT_S)  # a stopped thread ends at its next wake-up
        # Each thread gets its own stop signal: one still busy (a model load) when a restart
        # gives up waiting for it still sees its own signal, and ends, not runs beside the new.
        self._stopped = stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(stopped,), name="summit-live", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until the assistant is loaded; False if it was not within `timeout`."""
        return self._loaded.wait(timeout)

    @property
    def assistant(self) -> Assistant:
        """The loaded assistant (possibly on stale indexes, which `readiness` reports), or
        a NotReadyError saying why there is none yet."""
        state = self._state
        if state.assistant is not None:
            return state.assistant
        retry = self._retry_after(state)
        raise NotReadyError(state.problem or _STARTING, retry, starting=state.problem is None)

    def for_question(self, question: str) -> Assistant:
        """The assistant to answer `question`, which the core checks first: a bad question
        is refused alike (InvalidInputError) whether the assistant is loaded or not. With no
        limit given, the assistant checks it when it answers."""
        if self._max_chars is not None:
            clean_question(question, self._max_chars)
        return self.assistant

    def readiness(self) -> Readiness:
        state = self._state
        if state.assistant is not None and state.problem is None:
            return Readiness(True)
        return Readiness(False, state.problem or _STARTING, self._retry_after(state))

    def _run(self, stopped: threading.Event) -> None:
        while self._state.assistant is None and not stopped.is_set():
            try:
                self.load()
            except Exception as exc:  # any failure is logged and retried
                stopped.wait(self._failed("The assistant could not be loaded", exc))
        self._backoff.reset()
        if self._refresh_s > 0 and not stopped.is_set():
            self._keep_fresh(stopped)

    def _keep_fresh(self, stopped: threading.Event) -> None:
        """Checks the store every few seconds for what `summit ingest` wrote meanwhile."""
        wait = self._refresh_s
        while not stopped.wait(wait):
            try:
                self._refresh()
                wait = self._refresh_s
            except Exception as exc:  # a store briefly away, a bm25s error, MemoryError...
                wait = self._failed("The indexes could not be refreshed", exc)

    def _refresh(self) -> None:
        state = self._state
        assert state.assistant is not None
        if state.assistant.refresh():
            log.info("the store changed: indexes refreshed")
        if state.problem is not None:
            log.info("the indexes are current again")
        self._state = _State(state.assistant)
        self._backoff.reset()

    def _failed(self, what: str, exc: Exception) -> float:
        """Logs a failure with its cause, records it for readiness; the wait till the next
        try. The user-facing reason has a SummitError's message, never internal text."""
        wait = self._backoff.next()
        if self._state.assistant is not None:
            wait = min(max(wait, self._refresh_s), self._max_refresh_wait)
        if isinstance(exc, SummitError):
            reason = f"{what}: {str(exc).rstrip('.')}."
            log.warning("%s; retrying in %.0f s (cause: %r)", reason, wait, exc.__cause__ or exc)
        else:
            reason = f"{what} ({type(exc).__name__}); see the server log."
            log.error("%s; retrying in %.0f s", reason, wait, exc_info=exc)
        if self._state.assistant is not None:
            reason += " Answers come from the indexes loaded before."
        self._state = _State(self._state.assistant, reason, time.monotonic() + wait)
        return wait

    @staticmethod
    def _retry_after(state: _State) -> int:
        return max(1, math.ceil(state.next_try - time.monotonic())) if state.problem else 2
