"""The assistant behind a running app, loaded once in the background at start-up.

Loading takes seconds (model, store, BM25); until it is done /readyz and every answering
endpoint say 503 instead of queueing requests.
"""

import threading
from collections.abc import Callable

from server.assistant import Assistant
from server.errors import NotReadyError, SummitError

AssistantFactory = Callable[[], Assistant]


class Runtime:
    def __init__(self, factory: AssistantFactory) -> None:
        self._factory = factory
        self._assistant: Assistant | None = None
        self._failure: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._load, name="summit-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _load(self) -> None:
        try:
            self._assistant = self._factory()
        except SummitError as exc:
            self._failure = str(exc)
        except Exception:  # a start-up failure must show in /readyz, not kill the thread
            self._failure = "The assistant failed to start; see the server log."
            raise

    @property
    def assistant(self) -> Assistant:
        if self._assistant is not None:
            return self._assistant
        if self._failure is not None:
            raise NotReadyError(f"The assistant is unavailable: {self._failure}", False)
        raise NotReadyError("The assistant is starting; try again in a few seconds.", True)
