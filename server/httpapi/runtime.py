"""The assistant behind a running app, loaded once in the background at start-up.

Loading takes seconds (model, store, BM25); until it is done /readyz and every answering
endpoint say 503 instead of queueing requests.
"""

import logging
import threading
from collections.abc import Callable

from server.assistant import Assistant
from server.errors import NotReadyError, SummitError

AssistantFactory = Callable[[], Assistant]
log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, factory: AssistantFactory, refresh_seconds: float = 0) -> None:
        self._factory = factory
        self._refresh_seconds = refresh_seconds
        self._assistant: Assistant | None = None
        self._failure: str | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._load, name="summit-load", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self) -> None:
        self._stopped.set()

    def _load(self) -> None:
        try:
            self._assistant = self._factory()
            if self._refresh_seconds:
                threading.Thread(
                    target=self._keep_fresh,
                    args=(self._assistant,),
                    name="summit-refresh",
                    daemon=True,
                ).start()
        except SummitError as exc:
            self._failure = str(exc)
        except Exception:  # a start-up failure must show in /readyz, not kill the thread
            self._failure = "The assistant failed to start; see the server log."
            raise

    def _keep_fresh(self, assistant: Assistant) -> None:
        """Checks the store every few seconds for what `summit ingest` wrote meanwhile."""
        while not self._stopped.wait(self._refresh_seconds):
            try:
                if assistant.refresh():
                    log.info("the store changed: indexes refreshed")
            except SummitError as exc:  # a store briefly away: try again next time
                log.warning("could not refresh from the store: %s", exc)

    @property
    def assistant(self) -> Assistant:
        if self._assistant is not None:
            return self._assistant
        if self._failure is not None:
            raise NotReadyError(f"The assistant is unavailable: {self._failure}", False)
        raise NotReadyError("The assistant is starting; try again in a few seconds.", True)
