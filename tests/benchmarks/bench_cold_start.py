"""Cold start of `summit ask` as a new process, beside the cost of starting Python, of
`summit --help` and of importing torch + sentence-transformers, measured in the same run.

    python tests/benchmarks/bench_cold_start.py [--runs 5] [--json]

A temporary store is first filled with the bundled corpus by `summit ingest` (not timed).
Each command then runs --runs times, the commands taking turns so that a change in the
machine's load touches them all alike; one untimed round first warms the OS file cache, so
this is a cold process over warm files. Wall time from spawn to exit; min/median/max.
Children get HF_HUB_OFFLINE=1 and run in the temporary folder (no .env is read).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "Where was the summit held?"


def summit_script() -> str:
    """The `summit` console script of the venv running this benchmark."""
    beside = Path(sys.executable).parent / "summit"
    found = str(beside) if beside.exists() else shutil.which("summit")
    if found is None:
        raise SystemExit("no `summit` script: pip install -e . in this venv")
    return found


def commands(summit: str, store: Path) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "python -c pass": [python, "-c", "pass"],
        "summit --help": [summit, "--help"],
        "import torch, sentence_transformers": [
            python,
            "-c",
            "import torch, sentence_transformers",
        ],
        "summit ask": [summit, "ask", QUESTION, "--store", str(store)],
    }


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
        warm_up = {name: run(command, work, env)[1] for name, command in to_time.items()}
        answer = warm_up["summit ask"]
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


def time_rounds(
    to_time: dict[str, list[str]], runs: int, cwd: Path, env: dict[str, str]
) -> dict[str, list[float]]:
    """Seconds of each command in each of `runs` rounds; every round runs every command."""
    timings: dict[str, list[float]] = {name: [] for name in to_time}
    for _ in range(runs):
        for name, command in to_time.items():
            timings[name].append(run(command, cwd, env)[0])
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
    print(f"{'command':<38} {'min s':>7} {'median s':>9} {'max s':>7}")
    for name, values in seconds.items():
        print(f"{name:<38} {values['min']:>7.2f} {values['median']:>9.2f} {values['max']:>7.2f}")
    ask = seconds["summit ask"]["median"]
    imports = seconds["import torch, sentence_transformers"]["median"]
    print(f"summit ask minus the torch + sentence-transformers import: {ask - imports:.2f} s")
    print(f"answer: {report['answer']}")


if __name__ == "__main__":
    main()
