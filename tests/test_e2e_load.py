"""32 clients at once over every answering endpoint of a real server (uvicorn on loopback,
the real model, a real Chroma store with the bundled corpus): no response is a server
error. Request threads share one tokenizer, model, store and caches; this is where sharing
them unsafely would show ("Already borrowed", a half-swapped index)."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.load_mix import ask
from tests.servers import running_server

pytestmark = pytest.mark.e2e
CLIENTS = 32


def test_32_clients_of_mixed_questions_get_no_server_error(tmp_path: Path) -> None:
    # Generous queueing: on a loaded two-core machine a wait past the default 10 s would be
    # a 503 from the queue, which says nothing about sharing the model safely.
    settings = Settings.of(store=tmp_path / "store", rate_limit_per_minute=0, queue_seconds=120)
    with running_server(settings) as server:
        clients = [httpx.Client(timeout=180) for _ in range(CLIENTS)]

        def client_asks(number: int) -> list[int]:
            client = clients[number]
            return [ask(client, server.url, number + CLIENTS * turn) for turn in range(2)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = Counter(s for batch in pool.map(client_asks, range(CLIENTS)) for s in batch)
        for client in clients:
            client.close()
    assert statuses == Counter({200: 2 * CLIENTS})
