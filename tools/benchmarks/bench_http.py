"""Load test: latency and throughput at rising concurrency against a running server
(`/chat`, or with --mixed every answering endpoint in turn), beside the bare in-process
cost of embedding the question plus one Chroma query, measured in the same run.

    python tools/benchmarks/bench_http.py [--url URL] [--store DIR] [--requests 200]
                                          [--concurrency 1,8,16,32,64] [--mixed]

Each level sends the same number of requests; it reports throughput, p50/p95/p99, the
status codes (past SUMMIT_MAX_CONCURRENT_REQUESTS requests wait their turn, up to
SUMMIT_QUEUE_SECONDS, then get 503 + Retry-After; a stream ending in an error event counts
as 599), and the server's resident memory after the level (memory growth).

At 8 clients and more it also measures the bare cost from as many threads at once, since
on two cores a crowd waits for them whatever serves it.

Without --url it starts `summit serve` on a free loopback port (rate limit off) over
--store (default: a new temporary store, which ingests the bundled corpus), and reports
the server's peak memory. Questions: tests/qa/dev.jsonl, cycled, each asked once untimed
first (the answerer caches sentence vectors, so this measures the warm server).
Loopback only.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.components.store import build_embedder, open_store  # noqa: E402
from server.settings import Settings  # noqa: E402
from tests.load_mix import QUESTIONS, ask  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--store", type=Path)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", default="1,8,16,32,64")
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="rotate /chat, /chat/stream, /search and /v1/chat/completions (default: /chat)",
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as scratch:
        store = args.store or Path(scratch) / "store"
        with _server(args.url, store) as (url, pid):
            bare = _bare_cost(store)
            _load(url, len(QUESTIONS), 1, args.mixed)  # warm-up: each question once, unreported
            print(json.dumps({"bare_embed_plus_query_ms": bare}))
            if pid is not None:
                print(json.dumps({"server_rss_mb_after_warm_up": _rss_mb(pid)}))
            for level in levels:
                result = _load(url, args.requests, level, args.mixed)
                result["p50_over_bare_p50"] = round(result["p50_ms"] / bare["p50_ms"], 2)
                if level > 1:  # the bare cost when as many ask at once (the cores are shared)
                    crowded = _bare_cost(store, level, args.requests)
                    result["bare_p50_ms_same_concurrency"] = crowded["p50_ms"]
                    result["p50_over_bare_p50_same_concurrency"] = round(
                        result["p50_ms"] / crowded["p50_ms"], 2
                    )
                if pid is not None:
                    result["server_rss_mb"] = _rss_mb(pid)
                print(json.dumps(result))
            if pid is not None:
                print(json.dumps({"server_peak_rss_mb": _peak_rss_mb(pid)}))


def _bare_cost(store: Path, concurrency: int = 1, requests: int = 0) -> dict[str, float]:
    """Embed the question and make one Chroma query, in this process from `concurrency`
    threads at once, server idle."""
    settings = Settings.of(store=store)
    embedder = build_embedder(settings.embedding)
    chroma = open_store(settings.storage, settings.embedding)

    def one(question: str) -> float:
        started = time.perf_counter()
        chroma.dense_search(embedder.embed_query(question), settings.answers.retrieval_candidates)
        return (time.perf_counter() - started) * 1000

    for question in QUESTIONS[:5]:  # warm up
        one(question)
    count = requests or len(QUESTIONS) * 3
    questions = [QUESTIONS[n % len(QUESTIONS)] for n in range(count)]
    with ThreadPoolExecutor(concurrency) as pool:
        return _summary(list(pool.map(one, questions)))


def _load(url: str, requests: int, concurrency: int, mixed: bool) -> dict[str, Any]:
    """`requests` requests (tests/load_mix.py) from `concurrency` clients, each with its
    own connection."""
    local = threading.local()

    def one(index: int) -> tuple[float, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=120)
        started = time.perf_counter()
        status = ask(local.client, url, index, mixed)
        return (time.perf_counter() - started) * 1000, status

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    latencies = [ms for ms, status in results if status == 200]
    statuses = Counter(str(status) for _, status in results)
    return {
        "concurrency": concurrency,
        "requests": requests,
        "ok": statuses.pop("200", 0),
        "mixed_endpoints": mixed,
        "refused_503": statuses.pop("503", 0),
        "other_errors": dict(statuses),
        "throughput_ok_rps": round(len(latencies) / wall, 1),
        **_summary(latencies),
    }


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values) or [0.0]

    def quantile(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)

    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": quantile(0.95),
        "p99_ms": quantile(0.99),
    }


@contextmanager
def _server(url: str | None, store: Path) -> Iterator[tuple[str, int | None]]:
    if url:
        yield url.rstrip("/"), None
        return
    port = _free_port()
    env = {**os.environ, "SUMMIT_RATE_LIMIT_PER_MINUTE": "0", "SUMMIT_STORE": str(store)}
    command = [
        sys.executable,
        "-c",
        "from server.cli import main; main()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(30)


def _wait_ready(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base} was not ready after {timeout} s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM:")


def _rss_mb(pid: int) -> float:
    return _status_mb(pid, "VmRSS:")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


if __name__ == "__main__":
    main()
