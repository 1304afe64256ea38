"""A real uvicorn server for an app, on a free port of 127.0.0.1, in a background thread."""

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self

import uvicorn
from fastapi import FastAPI

from server.httpapi.app import create_app
from server.httpapi.protocol import json_error_protocol
from server.live import AssistantFactory
from server.settings import Settings

READY_TIMEOUT_S = 180.0


class LiveServer:
    """An app served by uvicorn in a background thread on a free port of 127.0.0.1."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, log_level="warning", lifespan="on", ws="none", http=json_error_protocol()
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self, headers: dict[str, str] | None = None) -> Self:
        """Starts serving and waits until /readyz says the assistant is loaded (the model,
        the store and, for an empty store, the first ingest)."""
        self._thread.start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            status, body = self.get("/readyz", headers)
            if status == 200:
                return self
            if status != 503 or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server did not get ready: {status} {body}")
            time.sleep(0.2)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        for _ in range(200):  # the socket is bound at once; uvicorn accepts a moment later
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.read().decode()
            except urllib.error.HTTPError as exc:
                with exc:
                    return exc.code, exc.read().decode()
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.05)
        raise RuntimeError(f"nothing answers at {self.url}")

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self._socket.close()


@contextmanager
def running_server(
    settings: Settings,
    assistant_factory: AssistantFactory | None = None,
    headers: dict[str, str] | None = None,
) -> Iterator[LiveServer]:
    server = LiveServer(create_app(settings, assistant_factory)).start(headers=headers)
    try:
        yield server
    finally:
        server.stop()
