"""How soon `summit serve` is ready after an ingest into a large store, beside a start with
nothing ingested since, measured in the same run.

    python tools/benchmarks/bench_ready_after_ingest.py [--store DIR] [--runs 3] [--json]

--store: a store built by bench_scale.py (default /tmp/summit-bench-scale/chunks-100000, the
100k-chunk store; build it with `python tools/benchmarks/bench_scale.py --sizes 100000`).
Each run writes one new short article into a temporary folder and runs `summit ingest` of
it into the store (timed apart: the ingest saves the BM25 index of the new store with it),
then starts `summit serve` over the store and times spawn to GET /readyz 200, then starts
it once more with nothing ingested in between. The store keeps the articles added. Children
get HF_HUB_OFFLINE=1; the server listens on a free 127.0.0.1 port.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench_cold_start import free_port, summit_script, timed, to_ready
from bench_scale import DEFAULT_ROOT

DEFAULT_STORE = DEFAULT_ROOT / "chunks-100000"
TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not (args.store / "chroma.sqlite3").exists():
        raise SystemExit(f"no Chroma store at {args.store}: see --help")
    summit, env = summit_script(), {**os.environ, "HF_HUB_OFFLINE": "1"}
    seconds: dict[str, list[float]] = {"ingest": [], "after ingest": [], "again": []}
    with tempfile.TemporaryDirectory() as work:
        for run in range(args.runs):
            seconds["ingest"].append(ingest_one(summit, args.store, Path(work), run, env))
            seconds["after ingest"].append(ready_s(summit, args.store, Path(work), env))
            seconds["again"].append(ready_s(summit, args.store, Path(work), env))
    report = {
        "store": str(args.store),
        "runs": args.runs,
        "seconds": {name: summary(values) for name, values in seconds.items()},
        "target_s": TARGET_S,
    }
    print(json.dumps(report) if args.json else render(report))


def ingest_one(summit: str, store: Path, work: Path, run: int, env: dict[str, str]) -> float:
    """Seconds `summit ingest` takes to add one new article to the store."""
    folder = work / f"run-{run}"
    folder.mkdir()
    stamp = time.time_ns()
    (folder / f"statement-{stamp}.md").write_text(
        f"# Joint statement {stamp}\n\nThe ministers met for the {run + 1}th round of talks "
        f"and agreed on a shared plan, numbered {stamp}, for port inspections.\n",
        encoding="utf-8",
    )
    started = time.perf_counter()
    result = subprocess.run(
        [summit, "ingest", str(folder), "--store", str(store)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"summit ingest failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


def ready_s(summit: str, store: Path, work: Path, env: dict[str, str]) -> float:
    port = free_port()
    argv = [summit, "serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    return timed((argv, {}, lambda process: to_ready(process, port)), work, env)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 2),
        "median": round(statistics.median(values), 2),
        "max": round(max(values), 2),
    }


def render(report: dict[str, object]) -> str:
    seconds = report["seconds"]
    assert isinstance(seconds, dict)
    lines = [f"store: {report['store']}, {report['runs']} runs; min / median / max seconds"]
    labels = {
        "ingest": "summit ingest of one new article",
        "after ingest": "summit serve: /readyz 200, first start after it",
        "again": "summit serve: /readyz 200, nothing ingested since",
    }
    for name, label in labels.items():
        s = seconds[name]
        lines.append(f"  {label:50s} {s['min']:6.2f} {s['median']:6.2f} {s['max']:6.2f}")
    lines.append(f"  target: ready after an ingest <= {report['target_s']} s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
