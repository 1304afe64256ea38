"""End to end: `summit ingest` killed with SIGKILL at random moments, then rerun, ends with
exactly the chunks of one clean ingest, and the BM25 index in step with the vectors.

Everything goes through the real command line in subprocesses (the real embedding model, an
embedded Chroma store on disk), offline. The stores are inspected in a fresh subprocess too
(`snapshot_main`): Chroma caches an embedded store per process, and a store damaged by a
kill must not be able to take the test process down with it.

tools/benchmarks/crash_ingest.py runs the same scenarios at LARGE_DOCUMENTS (or 10,000)
and prints what it finds.
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
SUMMIT = Path(sys.executable).with_name("summit")

# The size the issue asks for (10,000 documents) takes far over 60 s here. On this machine
# (2 cores shared with other CPU-heavy work) a clean `summit ingest` of the generated corpus
# costs ~20-27 s of process start-up (imports, model load, Chroma open) plus 25-70 ms a
# document, with the load: 500 documents (519 chunks) took 61.6 s at load average 6 (41.5 s
# at 2), 800 took 81.9 s, 10,000 (10,542 chunks) took 268 s at load 3-4. LARGE_DOCUMENTS
# is the largest N whose clean ingest stayed at ~60 s under load; the benchmark script uses
# it by default and takes --docs 10000 for the acceptance run. The test uses fewer: it
# makes ~20 `summit` runs, each paying the start-up; at 200 documents the file took 232 s
# at load average < 1 and 433 s at 5.
LARGE_DOCUMENTS = 500
TEST_DOCUMENTS = 200
# With the default SUMMIT_INGEST_BATCH_SIZE (2048) a corpus this small is embedded and
# written in one step, so a kill almost never lands between two writes; small batches give
# the test ~10 writes to fall between (the benchmark keeps the default).
TEST_INGEST_BATCH = 20
SEED = 20241127
KILLS = 5
EDIT_EVERY = 10  # every 10th document is edited in the changed file
FIRST_KILL_S = 0.5
LAST_KILL_FRACTION = 0.9  # of the run's measured duration
EMBEDDING_TOLERANCE = 1e-4  # the same text embedded in different batches differs by ~1e-7
QUESTION = "What did the delegation announce about the harbour budget?"

_WORDS = """summit leader minister treaty harbour river council budget energy climate trade
export import tariff railway bridge museum festival election village province coast island
mountain forest farmer factory school hospital doctor teacher student engineer scientist
report meeting agreement security defence fisheries accord statement delegation embassy
market currency inflation harvest drought flood storm earthquake satellite telescope
archive library manuscript painting sculpture theatre orchestra stadium athlete champion
record century decade morning evening winter summer autumn spring northern southern eastern
western central ancient modern rural urban coastal national regional local public private
signed agreed announced postponed reviewed approved rejected opened closed visited
discussed planned measured reported recorded described expected delayed extended""".split()
_SYLLABLES = "ka ro mi ta ne su lo vi da pe ri go na te ku sa mo li be to ze fa hu".split()


# --- the corpus ----------------------------------------------------------------------------


def make_records(n: int, seed: int = SEED) -> list[dict[str, Any]]:
    """n BEIR records of 1-3 generated sentences, every text different; about half have a
    title, a third metadata, and ~3% a long sentence, so a few documents make 2-3 chunks."""
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(records) < n:
        text = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        if text in seen:
            continue
        seen.add(text)
        record: dict[str, Any] = {"_id": f"doc-{len(records):05d}", "text": text}
        if rng.random() < 0.5:
            record["title"] = " ".join(w.capitalize() for w in _words(rng, rng.randint(2, 5)))
        if rng.random() < 0.3:
            record["metadata"] = {"year": rng.randint(1990, 2025), "lang": "en"}
        records.append(record)
    return records


def edit_records(records: list[dict[str, Any]], seed: int = SEED) -> list[dict[str, Any]]:
    """The same records with every EDIT_EVERY-th text changed: a sentence appended (a
    multi-chunk document keeps its first chunk), the first word replaced, or the last
    sentence rewritten."""
    rng = random.Random(seed + 1)
    edited = []
    for number, record in enumerate(records):
        record = dict(record)
        if number % EDIT_EVERY == 0:
            text = record["text"]
            kind = (number // EDIT_EVERY) % 3
            if kind == 0:
                text = f"{text} {_sentence(rng)}"
            elif kind == 1:
                text = "Revised " + text.split(" ", 1)[1]
            else:
                text = text.rsplit(". ", 1)[0].rstrip(".") + ". " + _sentence(rng)
            assert text != record["text"]
            record["text"] = text
        edited.append(record)
    return edited


def _words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(_WORDS) if rng.random() < 0.75 else _pseudo_word(rng) for _ in range(n)]


def _pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def _sentence(rng: random.Random) -> str:
    words = _words(rng, rng.randint(4, 14) if rng.random() < 0.97 else rng.randint(80, 120))
    if rng.random() < 0.2:
        words.insert(rng.randrange(len(words)), str(rng.randint(1, 2030)))
    return " ".join([words[0].capitalize(), *words[1:]]) + "."


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


# --- running summit ------------------------------------------------------------------------


def child_env(ingest_batch: int | None = None) -> dict[str, str]:
    """This environment without any SUMMIT_* variable, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMMIT_")}
    env["HF_HUB_OFFLINE"] = "1"
    if ingest_batch is not None:
        env["SUMMIT_INGEST_BATCH_SIZE"] = str(ingest_batch)
    return env


@dataclass
class Workspace:
    """A folder for one run of the scenarios: the corpus file (always at the same path,
    since chunk ids include it) and the stores."""

    root: Path
    records: list[dict[str, Any]]
    ingest_batch: int | None = None

    @property
    def corpus(self) -> Path:
        return self.root / "data" / "corpus.jsonl"

    def store(self, name: str) -> Path:
        return self.root / "stores" / name

    def env(self) -> dict[str, str]:
        return child_env(self.ingest_batch)


@dataclass
class Run:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool = False
    delay: float | None = None
    chunks_after: int | str | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "delay_s": None if self.delay is None else round(self.delay, 1),
            "seconds": round(self.seconds, 1),
            "killed": self.killed,
            "returncode": self.returncode,
            "stdout": self.stdout.strip()[-300:],
            "stderr": self.stderr.strip()[-300:],
            "chunks_in_store_after": self.chunks_after,
        }


def summit(ws: Workspace, *args: str, timeout: float = 3600) -> Run:
    command = [str(SUMMIT), *args]
    started = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env=ws.env(), cwd=ws.root, timeout=timeout
    )
    seconds = time.perf_counter() - started
    return Run(command, done.returncode, done.stdout, done.stderr, seconds)


def ingest(ws: Workspace, store: Path, timeout: float = 3600) -> Run:
    run = summit(ws, "ingest", str(ws.corpus), "--store", str(store), "--json", timeout=timeout)
    assert run.returncode == 0, run.stderr
    return run


def start_ingest(ws: Workspace, store: Path, command: Sequence[str] | None = None) -> Any:
    args = command or [str(SUMMIT), "ingest", str(ws.corpus), "--store", str(store), "--json"]
    return subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ws.env(),
        cwd=ws.root,
        start_new_session=True,  # its own process group: the kill reaches any child too
    )


def kill_after(process: Any, delay: float) -> tuple[str, str, bool]:
    """Waits delay seconds, then SIGKILLs the process (group) unless it ended first."""
    try:
        out, err = process.communicate(timeout=delay)
        return out, err, False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        return out, err, True


def killed_ingest(
    ws: Workspace, store: Path, delay: float, command: Sequence[str] | None = None
) -> Run:
    started = time.perf_counter()
    process = start_ingest(ws, store, command)
    out, err, killed = kill_after(process, delay)
    run = Run(
        list(process.args), process.returncode, out, err, time.perf_counter() - started, killed
    )
    run.delay, run.chunks_after = delay, stored_rows(store)
    return run


# `summit` with one crash point armed: the process SIGKILLs itself there. Random kills land
# mostly in start-up and embedding; these reach each window between two writes for sure.
FAULT_RUNNER = r"""
import os, signal, sys

point, sys.argv = sys.argv[1], ["summit", *sys.argv[2:]]
from server.storage import lexical, sentence_vectors, store


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def after(owner, name):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        die()
        return result
    setattr(owner, name, wrapper)


if point == "after-first-add-batch":
    after(store.ChunkStore, "add")
elif point == "after-adds-before-delete":
    store.ChunkStore.delete = die
elif point == "after-writes-before-bm25-save":
    lexical.LexicalIndex.save = die
elif point == "inside-bm25-save-before-switch":
    lexical.os.symlink = die
elif point == "after-bm25-save-before-publish":
    store.ChunkStore.publish = die
elif point == "inside-sentence-vector-fill":
    after(sentence_vectors.SentenceVectorStore, "put")
else:
    raise SystemExit(f"unknown crash point {point}")
from server.cli import main
main()
"""
FAULT_POINTS = [
    "after-first-add-batch",
    "after-adds-before-delete",
    "after-writes-before-bm25-save",
    "inside-bm25-save-before-switch",
    "after-bm25-save-before-publish",
]


def crash_at(ws: Workspace, store: Path, point: str, *options: str) -> Run:
    """An ingest of the corpus that kills itself at the crash point."""
    command = [sys.executable, "-c", FAULT_RUNNER, point, "ingest", str(ws.corpus), *options]
    return killed_ingest(ws, store, 3600, [*command, "--store", str(store), "--json"])


def kill_delays(rng: random.Random, duration: float, kills: int = KILLS) -> list[float]:
    """One delay in each of `kills` equal slices of FIRST_KILL_S .. 0.9 x duration, in
    ascending order: the spread is guaranteed (very early to late), and each run gets
    further than the one before (a rerun that starts where the last stopped is shorter,
    so a late kill of an early run would often find it finished)."""
    low = FIRST_KILL_S
    high = max(low + kills, LAST_KILL_FRACTION * duration)
    width = (high - low) / kills
    return [low + width * (i + rng.random()) for i in range(kills)]


def stored_rows(store: Path) -> int | str:
    """Chunks the store's SQLite holds, read-only and without Chroma (which could repair
    or replay something on opening): where the killed run had got to."""
    database = store / "chroma.sqlite3"
    if not database.exists():
        return 0
    journal = store / "chroma.sqlite3-journal"
    if journal.exists() and journal.stat().st_size > 0:
        # Killed inside a write transaction: the next process to open the store rolls
        # it back; a read-only reader cannot.
        return "killed inside a SQLite write (hot journal)"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            return int(connection.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"


# --- inspecting a store --------------------------------------------------------------------


@dataclass
class Snapshot:
    folder: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return list(self.data.get("ids", []))

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("records", {}))

    def embeddings(self) -> dict[str, Any]:
        import numpy as np

        matrix = np.load(self.folder / "embeddings.npy")
        order = json.loads((self.folder / "embedding_ids.json").read_text())
        return dict(zip(order, matrix, strict=True))


def snapshot(ws: Workspace, store: Path, name: str) -> Snapshot:
    """What the store holds, read by a fresh process (see snapshot_main)."""
    out = ws.root / "snapshots" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.test_e2e_crash_safety import snapshot_main; snapshot_main(sys.argv[2:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(store), str(out)],
        capture_output=True,
        text=True,
        env=ws.env(),
        cwd=ws.root,
        timeout=1800,
    )
    result = out / "snapshot.json"
    if not result.exists():  # the reader itself died (a Rust panic on a damaged index?)
        return Snapshot(out, {"error": f"reader exit {done.returncode}: {done.stderr[-2000:]}"})
    return Snapshot(out, json.loads(result.read_text()))


def snapshot_main(argv: list[str]) -> None:
    """Runs in a fresh process: dumps ids, texts, metadata, version, the saved BM25 index,
    embeddings and a self-query check of the vector index to argv[1]."""
    store, out = Path(argv[0]), Path(argv[1])
    data: dict[str, Any] = {"sqlite_integrity": _sqlite_integrity(store)}
    try:
        _read_store(store, out, data)
    except Exception:  # anything the store does wrong is a finding, not a test crash
        data["error"] = traceback.format_exc()
    (out / "snapshot.json").write_text(json.dumps(data), encoding="utf-8")


def _sqlite_integrity(store: Path) -> str:
    database = store / "chroma.sqlite3"
    if not database.exists():
        return "no database"
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            rows = connection.execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)
    except sqlite3.Error as exc:
        return f"error: {exc}"


def _read_store(store: Path, out: Path, data: dict[str, Any]) -> None:
    import numpy as np

    from server.settings import Settings
    from server.storage.catalogue import ADDED_KEY
    from server.storage.chroma import open_persistent_client
    from server.storage.embeddings import model_label
    from server.storage.lexical import LexicalIndex
    from server.storage.store import ChunkStore
    from tests.configured import configured_layout

    if not (store / "chroma.sqlite3").exists():
        raise FileNotFoundError(f"no Chroma store at {store}")
    settings = Settings.of(store=store)
    client = open_persistent_client(store)
    chunks = ChunkStore(client, settings.storage.collection, model_label(""))
    records = list(chunks.records())
    data["ids"] = [chunk_id for chunk_id, _, _ in records]
    # When a chunk was stored is when its ingest ran: no two ingests agree on it.
    data["records"] = {
        chunk_id: {"text": t, "meta": {k: v for k, v in m.items() if k != ADDED_KEY}}
        for chunk_id, t, m in records
    }
    data["count"] = chunks.count()
    data["version"] = chunks.version()
    collection = client.get_collection(settings.storage.collection, embedding_function=None)
    data["generation"] = (collection.metadata or {}).get("generation")
    folder = configured_layout(settings).lexical_dir
    index = LexicalIndex.load(folder)
    data["lexical"] = (
        None if index is None else {"version": index.version, "chunk_ids": index.chunk_ids}
    )
    data["lexical_live"] = [folder.name, folder.resolve().name]
    data["lexical_folder_entries"] = (
        sorted(p.name for p in folder.parent.iterdir()) if folder.parent.exists() else []
    )
    ids = sorted(set(data["ids"]))
    vectors: dict[str, Any] = {}
    for start in range(0, len(ids), 1000):
        page = collection.get(ids=ids[start : start + 1000], include=["embeddings"])
        found = page["embeddings"]
        vectors.update(zip(page["ids"], [] if found is None else list(found), strict=True))
    data["without_embedding"] = [i for i in ids if i not in vectors]
    order = [i for i in ids if i in vectors]
    matrix = np.array([vectors[i] for i in order], dtype=np.float32).reshape(len(order), 384)
    np.save(out / "embeddings.npy", matrix)
    (out / "embedding_ids.json").write_text(json.dumps(order))
    # The vector index should reach every chunk: one query for all of them returns each.
    everything = collection.query(
        query_embeddings=matrix[:1], n_results=max(len(order), 1), include=[]
    )
    data["index_ids"] = everything["ids"][0] if order else []
    # And find each vector as its own nearest neighbour (or one exactly as near). HNSW is
    # approximate: even a clean store of 10,000 chunks had 2 vectors it finds only with a
    # far larger k, so the count is compared with the clean store's, not with zero.
    misses = []
    for start in range(0, len(order), 500):
        batch = order[start : start + 500]
        hits = collection.query(
            query_embeddings=matrix[start : start + 500], n_results=1, include=["distances"]
        )
        for chunk_id, nearest, distance in zip(
            batch, hits["ids"], hits["distances"] or [], strict=True
        ):
            if not nearest or (nearest[0] != chunk_id and distance[0] > 1e-5):
                misses.append(chunk_id)
    data["self_query_misses"] = misses


# --- comparing -----------------------------------------------------------------------------


def problems(expected: Snapshot, actual: Snapshot, records: list[dict[str, Any]]) -> list[str]:
    """Every way the actual store differs from the clean one, or is not consistent in
    itself; empty when it holds exactly the chunks of the clean ingest."""
    found: list[str] = []
    for label, snap in (("clean", expected), ("actual", actual)):
        if "error" in snap.data:
            return [f"{label} store could not be read: {snap.data['error']}"]
        if snap.data["sqlite_integrity"] != "ok":
            found.append(f"{label} SQLite integrity: {snap.data['sqlite_integrity']}")
    ids, want = actual.ids, set(expected.ids)
    if len(ids) != len(set(ids)):
        found.append(f"{len(ids) - len(set(ids))} duplicated chunk ids")
    if actual.data["count"] != len(set(ids)):
        found.append(f"count() says {actual.data['count']}, records() gives {len(set(ids))}")
    missing, extra = sorted(want - set(ids)), sorted(set(ids) - want)
    if missing:
        found.append(f"{len(missing)} chunks of the clean ingest missing, e.g. {missing[:3]}")
    if extra:
        docs = sorted({str(actual.records[i]["meta"].get("doc_id")) for i in extra})
        found.append(f"{len(extra)} orphaned chunks (docs {docs[:5]}), e.g. {extra[:3]}")
    changed = [
        i
        for i in sorted(want & set(ids))
        if actual.records[i] != expected.records[i]  # text and every metadata key
    ]
    if changed:
        found.append(f"{len(changed)} chunks with other text or metadata, e.g. {changed[:3]}")
    if actual.data["generation"] != actual.data["version"]:
        found.append("the generation running servers watch is not the chunks' version")
    found += _documents(expected, actual, records)
    found += _lexical(actual)
    found += _vectors(expected, actual)
    return found


def _documents(expected: Snapshot, actual: Snapshot, records: list[dict[str, Any]]) -> list[str]:
    def by_doc(snap: Snapshot) -> dict[str, set[str]]:
        docs: dict[str, set[str]] = {}
        for chunk_id, record in snap.records.items():
            docs.setdefault(str(record["meta"]["doc_id"]), set()).add(chunk_id)
        return docs

    want, have = by_doc(expected), by_doc(actual)
    corpus_ids = {str(r["_id"]) for r in records}
    found = []
    if set(want) != corpus_ids:
        found.append(f"the clean store holds {len(want)} documents of {len(corpus_ids)}")
    absent = sorted(corpus_ids - set(have))
    if absent:
        found.append(f"{len(absent)} documents of the file absent, e.g. {absent[:3]}")
    differing = sorted(d for d in corpus_ids & set(have) if have[d] != want.get(d))
    if differing:
        found.append(f"{len(differing)} documents with other chunks, e.g. {differing[:3]}")
    return found


def _lexical(actual: Snapshot) -> list[str]:
    lexical = actual.data["lexical"]
    if lexical is None:
        return ["no readable BM25 index beside the store"]
    found = []
    if lexical["version"] != actual.data["version"]:
        found.append("the BM25 index's version is not the store's (out of step)")
    if len(lexical["chunk_ids"]) != len(set(lexical["chunk_ids"])):
        found.append("the BM25 index holds duplicated chunk ids")
    if set(lexical["chunk_ids"]) != set(actual.ids):
        gone = len(set(lexical["chunk_ids"]) - set(actual.ids))
        new = len(set(actual.ids) - set(lexical["chunk_ids"]))
        found.append(f"the BM25 index has {gone} chunks not in the store, lacks {new}")
    return found


def _vectors(expected: Snapshot, actual: Snapshot) -> list[str]:
    found = []
    if actual.data["without_embedding"]:
        found.append(f"{len(actual.data['without_embedding'])} chunks without an embedding")
    # A vector the store holds but the index cannot reach (HNSW is approximate, and its
    # graph depends on the order of inserts) is no loss: in clean stores of 10,000 chunks
    # one vector was found only with k >= 3,000. Such counts are compared with the clean
    # store's; the vectors themselves are compared exactly below.
    allowed = max(2, len(actual.ids) // 1000)
    index_ids = set(actual.data["index_ids"])
    if index_ids - set(actual.ids):
        found.append(f"the vector index returns {len(index_ids - set(actual.ids))} other ids")
    unreachable = set(actual.ids) - index_ids
    if len(unreachable) > len(set(expected.ids) - set(expected.data["index_ids"])) + allowed:
        found.append(f"the vector index does not reach {len(unreachable)} chunks of the store")
    misses = actual.data["self_query_misses"]
    if len(misses) > len(expected.data["self_query_misses"]) + allowed:
        found.append(f"{len(misses)} vectors the vector index does not find, e.g. {misses[:3]}")
    want, have = expected.embeddings(), actual.embeddings()
    far = [
        i
        for i in sorted(set(want) & set(have))
        if float(abs(want[i] - have[i]).max()) > EMBEDDING_TOLERANCE
    ]
    if far:
        found.append(f"{len(far)} chunks whose vector differs from the clean one, e.g. {far[:3]}")
    return found


def stray_lexical_entries(snap: Snapshot) -> list[str]:
    """Entries beside the BM25 index other than the index (a link) and its live folder:
    retired indexes and staging folders of killed saves, removed by a later save once
    LEFTOVER_AGE_S old."""
    entries = snap.data.get("lexical_folder_entries", [])
    live = snap.data.get("lexical_live", [])
    return [e for e in entries if e.startswith(".") and e not in live]


# --- the scenarios (also run by tools/benchmarks/crash_ingest.py) -------------------------


def clean(ws: Workspace, name: str) -> tuple[Run, Snapshot]:
    store = ws.store(name)
    shutil.rmtree(store, ignore_errors=True)
    run = ingest(ws, store)
    return run, snapshot(ws, store, name)


def kills_then_rerun(
    ws: Workspace,
    store: Path,
    duration: float,
    rng: random.Random,
    kills: int = KILLS,
    on_run: Callable[[Run], None] | None = None,
) -> tuple[list[Run], Run]:
    """Runs of the ingest, each SIGKILLed after the next delay of kill_delays, until
    `kills` of them were killed; then one run to the end. A run that ends before its delay
    is no kill: the delays left are drawn afresh over that run's duration (reruns get
    shorter as the store fills: a finished one leaves only no-op reruns), at most 3 x
    `kills` runs in all."""
    runs: list[Run] = []
    delays = kill_delays(rng, duration, kills)
    while delays and len(runs) < 3 * kills:
        run = killed_ingest(ws, store, delays.pop(0))
        runs.append(run)
        if on_run is not None:
            on_run(run)
        if not run.killed:
            delays = kill_delays(rng, run.seconds, len(delays) + 1)
    return runs, ingest(ws, store)


def ask(ws: Workspace, store: Path) -> Run:
    return summit(ws, "ask", "--json", QUESTION, "--store", str(store), timeout=1800)


def concurrent_ingests(ws: Workspace, store: Path) -> list[Run]:
    """Two ingests of the same file into the same new store, started together."""
    shutil.rmtree(store, ignore_errors=True)
    started = time.perf_counter()
    processes = [start_ingest(ws, store), start_ingest(ws, store)]
    runs = []
    for process in processes:
        out, err = process.communicate(timeout=3600)
        runs.append(
            Run(list(process.args), process.returncode, out, err, time.perf_counter() - started)
        )
    return runs


def concurrency_verdict(runs: list[Run], found: list[str]) -> str | None:
    """None when acceptable: both succeeded and the store is the clean one, or one refused
    with a one-line message and a non-zero exit while the other made the clean store."""
    codes = sorted(r.returncode for r in runs)
    if found:
        return f"exit codes {codes}; store not the clean one: {found}"
    if codes == [0, 0]:
        return None
    refused = [r for r in runs if r.returncode != 0]
    if codes[0] == 0 and len(refused) == 1:
        message = refused[0].stderr.strip()
        if message.startswith("error:") and "\n" not in message:
            return None
        return f"the refusing ingest's message is not one clear line: {message[-800:]!r}"
    return f"exit codes {codes}: {[r.stderr.strip()[-800:] for r in runs]}"


# --- the tests -----------------------------------------------------------------------------


@dataclass
class Reference:
    ws: Workspace
    run: Run
    clean: Snapshot


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The corpus and store A, made by one clean ingest."""
    ws = Workspace(tmp_path_factory.mktemp("crash"), make_records(TEST_DOCUMENTS))
    ws.ingest_batch = TEST_INGEST_BATCH
    write_jsonl(ws.corpus, ws.records)
    run, snap = clean(ws, "A")
    assert "error" not in snap.data, snap.data["error"]
    assert len({r["meta"]["doc_id"] for r in snap.records.values()}) == TEST_DOCUMENTS
    return Reference(ws, run, snap)


@dataclass
class Crashed:
    store: Path
    killed: list[Run]
    final: Run
    snap: Snapshot
    asked: Run


@pytest.fixture(scope="module")
def crashed(reference: Reference) -> Crashed:
    """Store B: KILLS killed ingests of the corpus, then one to the end, then a question."""
    ws = reference.ws
    write_jsonl(ws.corpus, ws.records)
    store = ws.store("B")
    rng = random.Random(SEED)
    killed, final = kills_then_rerun(ws, store, reference.run.seconds, rng)
    snap = snapshot(ws, store, "B")
    return Crashed(store, killed, final, snap, ask(ws, store))


def test_an_ingest_killed_five_times_then_rerun_ends_as_one_clean_ingest(
    reference: Reference, crashed: Crashed
) -> None:
    summaries = [r.summary() for r in crashed.killed]
    assert sum(r.killed for r in crashed.killed) == KILLS, summaries
    assert problems(reference.clean, crashed.snap, reference.ws.records) == [], summaries
    assert sorted(crashed.snap.ids) == sorted(reference.clean.ids)
    assert json.loads(crashed.final.stdout)["chunks"] == len(reference.clean.ids)


def test_the_store_still_answers_after_the_kills(crashed: Crashed) -> None:
    from server.contract import Answer

    assert crashed.asked.returncode == 0, crashed.asked.stderr
    answer = Answer.model_validate_json(crashed.asked.stdout)
    assert answer.citations, answer
    assert {c.chunk_id for c in answer.citations} <= set(crashed.snap.ids)


def test_a_changed_file_reingested_with_kills_ends_as_a_clean_ingest_of_it(
    reference: Reference, crashed: Crashed
) -> None:
    ws = reference.ws
    edited = edit_records(ws.records)
    write_jsonl(ws.corpus, edited)
    try:
        _, clean_edit = clean(ws, "C")
        # An uninterrupted update of a copy measures how long the update runs.
        shutil.rmtree(ws.store("B-copy"), ignore_errors=True)
        shutil.copytree(crashed.store, ws.store("B-copy"))
        update = ingest(ws, ws.store("B-copy"))
        killed, final = kills_then_rerun(ws, crashed.store, update.seconds, random.Random(SEED))
        snap = snapshot(ws, crashed.store, "B-edited")
    finally:
        write_jsonl(ws.corpus, ws.records)
    summaries = [r.summary() for r in killed]
    assert sum(r.killed for r in killed) == KILLS, summaries
    assert problems(clean_edit, snap, edited) == [], summaries
    changed = sum(a["text"] != b["text"] for a, b in zip(ws.records, edited, strict=True))
    assert json.loads(update.stdout)["updated"] == changed == len(ws.records[::EDIT_EVERY])
    assert json.loads(final.stdout)["chunks"] == len(clean_edit.ids)
    replaced = set(reference.clean.ids) - set(clean_edit.ids)  # old chunks of edited docs
    assert replaced and not replaced & set(snap.ids)


def test_two_ingests_started_together_end_consistent_or_one_refuses_clearly(
    reference: Reference,
) -> None:
    """Passes since ingest/lock.py: the second ingest refuses in ~5 s with one line (no
    xfail needed). Chroma itself copes with both opening a new store at once."""
    ws = reference.ws
    write_jsonl(ws.corpus, ws.records)
    runs = concurrent_ingests(ws, ws.store("D"))
    snap = snapshot(ws, ws.store("D"), "D")
    found = problems(reference.clean, snap, ws.records)
    assert concurrency_verdict(runs, found) is None, [r.summary() for r in runs]


def test_a_kill_after_the_writes_still_tells_running_servers_the_store_changed(
    reference: Reference,
) -> None:
    """`generation` is what a running `summit serve` watches to reload its vector and BM25
    indexes (HybridRetriever.refresh). A kill after the last write but before the
    generation is published must not leave it behind: the rerun, with nothing left to
    write, publishes it."""
    ws = reference.ws
    store = ws.store("F")
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(ws.store("A"), store)
    write_jsonl(ws.corpus, edit_records(ws.records))
    try:
        crash = crash_at(ws, store, "after-bm25-save-before-publish")
        at_crash = snapshot(ws, store, "F-crashed")
        rerun = ingest(ws, store)
        snap = snapshot(ws, store, "F")
    finally:
        write_jsonl(ws.corpus, ws.records)
    assert crash.returncode == -signal.SIGKILL, crash.summary()
    assert at_crash.data["generation"] == reference.clean.data["generation"]
    assert json.loads(rerun.stdout)["updated"] == 0  # the killed run wrote every chunk
    assert snap.data["version"] != reference.clean.data["version"]
    assert snap.data["generation"] == snap.data["version"]


def test_a_kill_while_sentence_vectors_are_filled_in_is_completed_by_the_rerun(
    reference: Reference,
) -> None:
    """`ingest --sentence-vectors` over a store ingested without them fills in every
    chunk's sentences and only then records the file complete: killed after its first
    write, the rerun (with nothing else to do) fills in the rest."""
    from server.base.sentences import split_sentences
    from server.settings import Settings
    from server.storage.sentence_vectors import SentenceVectorStore
    from tests.configured import configured_layout

    ws = reference.ws
    store = ws.store("G")
    shutil.rmtree(store, ignore_errors=True)
    shutil.copytree(ws.store("A"), store)
    sentences = list(
        dict.fromkeys(
            s for r in reference.clean.records.values() for s in split_sentences(r["text"])
        )
    )
    crash = crash_at(ws, store, "inside-sentence-vector-fill", "--sentence-vectors")
    vectors = SentenceVectorStore.open(
        configured_layout(Settings.of(store=store)).sentence_vectors, 0
    )
    assert vectors is not None
    assert crash.returncode == -signal.SIGKILL, crash.summary()
    assert 0 < len(sentences) - len(vectors.missing(sentences)) < len(sentences)
    assert vectors.complete_for() is None
    rerun = summit(ws, "ingest", str(ws.corpus), "--sentence-vectors", "--store", str(store))
    assert rerun.returncode == 0, rerun.stderr
    assert vectors.missing(sentences) == []
    assert vectors.complete_for() == reference.clean.data["version"]
