"""Peak memory of `summit serve` over a large store under load, beside the peak of a bare
Python process that only loads the embedding model, measured in the same run.

    python tools/benchmarks/bench_serve_memory.py [--store DIR] [--requests 300]
                                                  [--concurrency 4] [--json]

--store: a store built by bench_scale.py, which keeps one per size under its --store-root
(default /tmp/summit-bench-scale): /tmp/summit-bench-scale/chunks-100000 is the 100k-chunk
store (the default here), chunks-10000 the 10k one. The store must exist: an empty one would
make the server ingest the bundled corpus instead.

The server is `summit serve` from this venv on a free 127.0.0.1 port (SUMMIT_STORE=DIR,
rate limit off, HF_HUB_OFFLINE=1). Its /proc/PID/status is sampled every 0.2 s from spawn.
Once GET /readyz is 200 (the models are loaded by then), one /chat is asked; then
--requests POST /chat with the
SciFact test claims (cycled) go out from --concurrency client threads (httpx).

Reported: VmHWM (peak resident set) at readiness and at the end; RSS at readiness, after
the first answer and after the load (growth under load); the highest sampled RSS; /chat
latency and errors; at the end, the RSS split into private memory and mapped files (the
BM25 index is memory-mapped). MB are MiB as /proc gives them; target: peak <= 607 MiB (60 %
of the torch backend's 1,012) with 100k chunks. --server-env NAME=VALUE (repeatable)
passes more environment to the server, e.g. MALLOC_ARENA_MAX=8 (`summit serve` caps glibc's
arenas at 2 unless that variable is set). /readyz reads the document count an ingest
records (bench_scale.py records it too); a store without one is counted by reading every
chunk's metadata.
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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
from bench_scale import DEFAULT_ROOT, scifact_test_claims

ROOT = Path(__file__).resolve().parents[2]
SUMMIT = Path(sys.executable).parent / "summit"
DEFAULT_STORE = DEFAULT_ROOT / "chunks-100000"
TARGET_MB = 607.0  # 60 % of the 1,012 MB peak of the torch backend (issue 30)
WARM_UP_QUESTION = "Where was the summit held?"
BARE_MODEL_SCRIPT = """
from pathlib import Path
from server.components.store import build_embedder
from server.settings import Settings
build_embedder(Settings().embedding).encode(["x"])
print(Path("/proc/self/status").read_text())
"""


@dataclass
class MemorySampler:
    """Reads a process's VmRSS every `interval` seconds on a thread of its own."""

    pid: int
    interval: float
    peak_rss_mb: float = 0.0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                rss = read_status(self.pid)["VmRSS"]
            except (OSError, KeyError):  # the process has gone
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss)
            self.samples += 1
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE", help="repeatable"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (args.store / "chroma.sqlite3").exists():
        raise SystemExit(
            f"no Chroma store at {args.store}: build one with "
            "python tools/benchmarks/bench_scale.py --sizes 100000"
        )
    questions = scifact_test_claims()
    report: dict[str, object] = {
        "store": str(args.store),
        "server_env": args.server_env,
        "cpus": os.cpu_count(),
        "bare_model": bare_model_memory(),
    }
    report["server"] = serve_memory(args.store, questions, args)
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)


def bare_model_memory() -> dict[str, float]:
    """Peak and final RSS (MB) of a Python process that only loads the embedding model."""
    result = subprocess.run(
        [sys.executable, "-c", BARE_MODEL_SCRIPT],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    status = parse_status(result.stdout)
    return {"peak_mb": status["VmHWM"], "rss_mb": status["VmRSS"]}


def serve_memory(store: Path, questions: list[str], args: argparse.Namespace) -> dict[str, object]:
    extra = dict(item.split("=", 1) for item in args.server_env)
    with tempfile.TemporaryFile("w+") as log, running_server(store, log, extra) as (base, pid):
        sampler = MemorySampler(pid, args.interval)
        threading.Thread(target=sampler.run, daemon=True).start()
        started = time.perf_counter()
        wait_ready(base, pid, log)
        ready_s = time.perf_counter() - started
        at_ready = read_status(pid)
        first_ms = first_answer_ms(base)
        at_first = read_status(pid)
        load = send_load(base, questions, args.requests, args.concurrency)
        time.sleep(args.interval * 2)  # a last sample or two after the load
        at_end = read_status(pid)
        mapped_index_mb = mapped_file_mb(pid, store / "lexical")
        sampler.stop()
    return {
        "ready_s": round(ready_s, 1),
        "peak_mb_at_ready": at_ready["VmHWM"],
        "peak_mb": at_end["VmHWM"],
        "rss_mb_at_ready": at_ready["VmRSS"],
        "first_answer_ms": first_ms,
        "rss_mb_after_first_answer": at_first["VmRSS"],
        "rss_mb_after_load": at_end["VmRSS"],
        "growth_mb": round(at_end["VmRSS"] - at_first["VmRSS"], 1),
        "anon_mb_at_end": at_end["RssAnon"],
        "file_mb_at_end": at_end["RssFile"],
        "mapped_index_mb_at_end": mapped_index_mb,
        "max_sampled_rss_mb": sampler.peak_rss_mb,
        "samples": sampler.samples,
        "within_target": at_end["VmHWM"] <= TARGET_MB,
        **load,
    }


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", **extra}


@contextmanager
def running_server(
    store: Path, log: IO[str], extra_env: dict[str, str]
) -> Iterator[tuple[str, int]]:
    """`summit serve` over the store on a free loopback port; (base URL, pid)."""
    port = free_port()
    env = child_env(SUMMIT_STORE=str(store), SUMMIT_RATE_LIMIT_PER_MINUTE="0", **extra_env)
    command = [str(SUMMIT), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(base: str, pid: int, log: IO[str], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            log.seek(0)
            raise SystemExit(f"the server exited before it was ready:\n{log.read()[-3000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=60).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{base} was not ready after {timeout} s")


def first_answer_ms(base: str) -> float:
    """One untimed-question /chat: the embedding model loads on the first answer."""
    started = time.perf_counter()
    response = httpx.post(f"{base}/chat", json={"message": WARM_UP_QUESTION}, timeout=300)
    response.raise_for_status()
    return round((time.perf_counter() - started) * 1000, 1)


def send_load(
    base: str, questions: list[str], requests: int, concurrency: int
) -> dict[str, object]:
    """`requests` POSTs to /chat from `concurrency` threads, each with its own connection."""
    local = threading.local()

    def one(index: int) -> tuple[float, bool]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(timeout=300)
        started = time.perf_counter()
        try:
            response = local.client.post(
                f"{base}/chat", json={"message": questions[index % len(questions)]}
            )
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        return (time.perf_counter() - started) * 1000, ok

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    latencies = sorted(ms for ms, _ in results)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": sum(1 for _, ok in results if not ok),
        "load_s": round(wall, 1),
        "throughput_rps": round(requests / wall, 2),
        "chat_p50_ms": round(statistics.median(latencies), 1),
        "chat_p95_ms": round(latencies[min(requests - 1, round(0.95 * (requests - 1)))], 1),
    }


def read_status(pid: int) -> dict[str, float]:
    return parse_status(Path(f"/proc/{pid}/status").read_text())


def parse_status(text: str) -> dict[str, float]:
    """The Vm* and Rss* lines of /proc/PID/status, in MB."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name.startswith(("Vm", "Rss")) and rest.strip().endswith("kB"):
            values[name] = round(int(rest.split()[0]) / 1024, 1)
    return values


def mapped_file_mb(pid: int, folder: Path) -> float:
    """Resident MB of the files under `folder` the process maps (the BM25 index): clean
    pages of the page cache, which the kernel takes back under pressure."""
    resident_kb, in_folder = 0, False
    prefix = str(folder.resolve())
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            in_folder = len(fields) > 5 and fields[5].startswith(prefix)
        elif fields[0] == "Rss:" and in_folder:
            resident_kb += int(fields[1])
    return round(resident_kb / 1024, 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def print_report(report: dict[str, object]) -> None:
    bare = report["bare_model"]
    server = report["server"]
    assert isinstance(bare, dict) and isinstance(server, dict)
    print(f"store: {report['store']}  (cpus: {report['cpus']})")
    print(f"baseline, bare model load:  peak {bare['peak_mb']:.0f} MB, RSS {bare['rss_mb']:.0f} MB")
    print(
        f"summit serve: ready in {server['ready_s']} s; peak {server['peak_mb_at_ready']:.0f} MB "
        f"at ready, {server['peak_mb']:.0f} MB at the end "
        f"({server['peak_mb'] / bare['peak_mb']:.2f}x the bare model)"
    )
    print(
        f"  RSS {server['rss_mb_at_ready']:.0f} MB at ready -> "
        f"{server['rss_mb_after_first_answer']:.0f} MB after the first answer "
        f"({server['first_answer_ms']:.0f} ms) -> "
        f"{server['rss_mb_after_load']:.0f} MB after {server['requests']} requests "
        f"(growth under load {server['growth_mb']:+.0f} MB); highest sampled RSS "
        f"{server['max_sampled_rss_mb']:.0f} MB over {server['samples']} samples"
    )
    print(
        f"  /chat x{server['requests']} from {server['concurrency']} threads: "
        f"{server['errors']} errors, p50 {server['chat_p50_ms']} ms, "
        f"p95 {server['chat_p95_ms']} ms, {server['throughput_rps']} req/s"
    )
    print(
        f"  RSS at the end: {server['anon_mb_at_end']:.0f} MB private (RssAnon), "
        f"{server['file_mb_at_end']:.0f} MB of mapped files (RssFile), of which "
        f"{server['mapped_index_mb_at_end']:.0f} MB the memory-mapped BM25 index"
    )
    verdict = "within" if server["within_target"] else "OVER"
    print(f"  target peak <= {TARGET_MB:.0f} MB (60 % of 1,012 MB): {verdict}")


if __name__ == "__main__":
    main()
