"""In-process `Assistant.ask` latency at 1k, 10k and 100k chunks, beside the bare cost of
embedding the question plus one Chroma dense query, measured in the same run.

    python tools/benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--questions 200]
        [--store-root DIR] [--sentence-cache 0] [--sentence-vectors stored|encoded]
        [--torch-threads 0] [--json]

Corpus: generated from ../shared/data/scifact/corpus.jsonl (evaluation data, read in
place, never copied). A seeded pool of --pool real sentences is embedded once with the real
model (cached as pool-SEED-N.npy/.json in the store root); each chunk is 3-6 random pool
sentences, 10 chunks a document, and its vector is the normalised mean of its sentences'
vectors, so 100k chunks cost no model time. Chunks go in with ChunkStore.add, then the BM25
index is built with sync_lexical_index; "build s" is both. Stores live in
STORE_ROOT/chunks-SIZE (default root /tmp/summit-bench-scale) and are reused when they
already hold SIZE chunks, so reruns skip the build (the table then shows the build time
recorded when the store was made, marked *). The 100k store is what
bench_serve_memory.py reads by default.

Questions: the SciFact test claims (qrels/test.tsv): 10 warm the process up, then each of
--questions others is asked once. The answerer's sentence-vector cache is off by default
(--sentence-cache 0): pool sentences recur across generated chunks (each in ~100 chunks at
100k), so a cache would hit far more often than on real text; with it off every answer pays
for encoding its passages' sentences, as a first-time question over a real corpus does.

Sentence vectors (--sentence-vectors): `stored` (default) gives the store what
`summit ingest --sentence-vectors` leaves: the vector of every sentence of every chunk, as
the answerer splits them (pool vectors for pool sentences, the model for the few others),
padded with random rows to the count a real corpus of that size would store (4.5 a chunk),
so lookups run against a file of realistic size. `encoded` switches them off: every answer
runs the model on its passages' sentences, as one does after the default ingest the first
time it reads a passage.

Timed per question, in an order that rotates: Assistant.ask; the baseline, embedding the
question plus one store.dense_search with k = retrieval_candidates; HybridRetriever.retrieve
(the retrieval half of ask); LexicalIndex.search (BM25) alone. The machine's CPUs, CPU
model, torch threads and load average are recorded: the figures are only as quiet as it is.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.base.documents import Chunk  # noqa: E402
from server.base.sentences import split_sentences  # noqa: E402
from server.components import build_assistant  # noqa: E402
from server.components.store import build_embedder, open_store, store_layout  # noqa: E402
from server.retrieval.hybrid import HybridRetriever  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.storage.chroma import open_persistent_client  # noqa: E402
from server.storage.embeddings import Embedder  # noqa: E402
from server.storage.layout import StoreLayout  # noqa: E402
from server.storage.lexical import LexicalIndex, sync_lexical_index  # noqa: E402
from server.storage.sentence_vectors import SentenceVectorStore  # noqa: E402
from server.storage.store import ChunkStore  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
DEFAULT_ROOT = Path("/tmp/summit-bench-scale")
WARM_UP_QUESTIONS = 10
CHUNKS_PER_DOCUMENT = 10
SENTENCES_PER_CHUNK = (3, 6)
MAX_ADD_BATCH = 5000
SENTENCE_ROWS_PER_CHUNK = 4.5  # unique sentences a chunk, as an ingest of real text stores
T = TypeVar("T")


@dataclass(frozen=True)
class Pool:
    """Real sentences with their vectors, and titles to give generated documents."""

    sentences: list[str]
    vectors: np.ndarray
    titles: list[str]


@dataclass
class SizeResult:
    size: int
    chunks: int
    build_s: float
    build_reused: bool
    assistant_load_s: float
    disk_mb: float
    lexical_disk_mb: float
    questions: int
    answered: int
    ask_p50_ms: float
    ask_p95_ms: float
    baseline_p50_ms: float
    baseline_p95_ms: float
    retrieve_p50_ms: float
    retrieve_p95_ms: float
    bm25_p50_ms: float
    bm25_p95_ms: float
    sentence_vectors: str = "encoded"
    sentence_rows: int = 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--store-root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--pool", type=int, default=4000, help="sentences embedded for real")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--sentence-cache", type=int, default=0, help="answerer cache size (see docstring)"
    )
    parser.add_argument("--sentence-vectors", choices=["stored", "encoded"], default="stored")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    args.store_root.mkdir(parents=True, exist_ok=True)

    warm_up, timed = _questions(args.questions)
    embedder = build_embedder(Settings.of(store=args.store_root).embedding)
    pool = _pool(embedder, args.store_root, args.pool, args.seed)
    results = [_measure_size(size, pool, embedder, args, warm_up, timed) for size in sizes]
    report = {
        "machine": _machine(),
        "pool_sentences": len(pool.sentences),
        "sentence_cache": args.sentence_cache,
        "sentence_vectors": args.sentence_vectors,
        "store_root": str(args.store_root),
        "results": [asdict(r) for r in results],
    }
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report, results)


# -- questions and corpus ------------------------------------------------------------------


def _questions(count: int) -> tuple[list[str], list[str]]:
    """(warm-up, timed) SciFact test claims, none repeated."""
    claims = scifact_test_claims()
    if count + WARM_UP_QUESTIONS > len(claims):
        _log(f"only {len(claims)} test claims: timing {len(claims) - WARM_UP_QUESTIONS}")
    return claims[:WARM_UP_QUESTIONS], claims[WARM_UP_QUESTIONS : WARM_UP_QUESTIONS + count]


def scifact_test_claims() -> list[str]:
    """The 300 SciFact test queries (claims), in queries.jsonl order."""
    qrels = (SCIFACT / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]
    test_ids = {line.split("\t")[0] for line in qrels if line.strip()}
    records = _jsonl(SCIFACT / "queries.jsonl")
    return [str(r["text"]) for r in records if r["_id"] in test_ids]


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _pool(embedder: Embedder, root: Path, size: int, seed: int) -> Pool:
    """A seeded sample of SciFact sentences, embedded once and cached beside the stores."""
    sentences, titles = _scifact_sentences()
    chosen = random.Random(seed).sample(sentences, min(size, len(sentences)))
    cache = root / f"pool-{seed}-{len(chosen)}"
    texts_file, vectors_file = cache.with_suffix(".json"), cache.with_suffix(".npy")
    identity = {"model": embedder.model_name, "sentences": chosen}
    cached = texts_file.exists() and vectors_file.exists()
    if cached and json.loads(texts_file.read_text(encoding="utf-8")) == identity:
        return Pool(chosen, np.load(vectors_file), titles)
    started = time.perf_counter()
    vectors = np.asarray(embedder.encode(chosen), dtype=np.float32)
    _log(f"embedded {len(chosen)} pool sentences in {time.perf_counter() - started:.1f} s")
    np.save(vectors_file, vectors)
    texts_file.write_text(json.dumps(identity), encoding="utf-8")
    return Pool(chosen, vectors, titles)


def _scifact_sentences() -> tuple[list[str], list[str]]:
    """Sentences of every abstract (20-400 characters), and the abstracts' titles."""
    sentences: list[str] = []
    titles: list[str] = []
    for record in _jsonl(SCIFACT / "corpus.jsonl"):
        titles.append(str(record["title"]))
        sentences.extend(s for s in split_sentences(str(record["text"])) if 20 <= len(s) <= 400)
    return sorted(set(sentences)), titles


def generate_chunks(pool: Pool, size: int, seed: int) -> Iterator[tuple[Chunk, np.ndarray]]:
    """`size` chunks of 3-6 pool sentences, each with the normalised mean of their vectors."""
    rng = random.Random(seed * 1_000_003 + size)
    title = ""
    for number in range(size):
        doc = number // CHUNKS_PER_DOCUMENT
        if number % CHUNKS_PER_DOCUMENT == 0:
            title = rng.choice(pool.titles)
        picks = rng.sample(range(len(pool.sentences)), rng.randint(*SENTENCES_PER_CHUNK))
        vector = pool.vectors[picks].mean(axis=0)
        chunk = Chunk(
            chunk_id=f"scale-{size}-{number:06d}",
            doc_id=f"doc-{doc:05d}",
            source=f"/generated/scale-{size}/doc-{doc:05d}.txt",
            title=title,
            section=None,
            page=None,
            position=number % CHUNKS_PER_DOCUMENT,
            text=" ".join(pool.sentences[i] for i in picks),
        )
        yield chunk, vector / np.linalg.norm(vector)


# -- the store -----------------------------------------------------------------------------


def _store_dir(root: Path, size: int) -> Path:
    return root / f"chunks-{size}"


def _open(settings: Settings) -> ChunkStore:
    return open_store(settings.storage, settings.embedding)


def _layout(settings: Settings) -> StoreLayout:
    return store_layout(settings.storage, settings.embedding)


def _ensure_store(
    settings: Settings, embedder: Embedder, pool: Pool, size: int, seed: int
) -> tuple[float, bool]:
    """(build seconds, reused): the store at settings.storage.store holds `size` generated
    chunks."""
    folder = settings.storage.store
    record = folder.with_name(folder.name + ".build.json")
    recipe = {"seed": seed, "pool": len(pool.sentences), "model": embedder.model_name}
    if record.exists() and folder.exists():
        recorded = json.loads(record.read_text())
        if recorded.get("recipe") == recipe and _open(settings).count() == size:
            return float(recorded["build_s"]), True
    _empty_store(settings)
    record.unlink(missing_ok=True)
    started = time.perf_counter()
    store = _open(settings)
    _add_all(store, folder, generate_chunks(pool, size, seed), size)
    add_s = time.perf_counter() - started
    sync_lexical_index(store, _layout(settings).lexical_dir)
    build_s = time.perf_counter() - started
    _log(f"{size}: Chroma add {add_s:.1f} s, BM25 index {build_s - add_s:.1f} s")
    record.write_text(json.dumps({"build_s": build_s, "chroma_add_s": add_s, "recipe": recipe}))
    return build_s, False


def _ensure_sentence_vectors(
    settings: Settings, embedder: Embedder, pool: Pool, size: int, seed: int
) -> int:
    """Rows in the store's sentence-vector file (see the docstring); 0 when switched off."""
    if not settings.embedding.sentence_vectors:
        return 0
    path = _layout(settings).sentence_vectors
    record = path.with_name(path.name + ".bench.json")
    recipe = {"seed": seed, "pool": len(pool.sentences), "model": embedder.model_name}
    if record.exists() and path.exists() and json.loads(record.read_text()) == recipe:
        return _rows(path)
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    stored = SentenceVectorStore.open(path, 60)
    if stored is None:
        raise SystemExit(f"cannot create {path}")
    vector_of = dict(zip(pool.sentences, pool.vectors, strict=True))
    chunks = generate_chunks(pool, size, seed)
    sentences = list(dict.fromkeys(s for c, _ in chunks for s in split_sentences(c.text)))
    others = [s for s in sentences if s not in vector_of]
    vector_of.update(zip(others, embedder.encode(others), strict=True))
    for start in range(0, len(sentences), MAX_ADD_BATCH):
        batch = sentences[start : start + MAX_ADD_BATCH]
        stored.put(batch, np.stack([vector_of[s] for s in batch]))
    rng = np.random.default_rng(seed)
    padding = int(size * SENTENCE_ROWS_PER_CHUNK) - len(sentences)
    for start in range(0, max(padding, 0), MAX_ADD_BATCH):
        count = min(MAX_ADD_BATCH, padding - start)
        vectors = rng.standard_normal((count, pool.vectors.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        stored.put([f"padding {start + i}" for i in range(count)], vectors)
    record.write_text(json.dumps(recipe))
    _log(f"{size}: {len(sentences)} sentences stored ({len(others)} encoded), {padding} padding")
    return _rows(path)


def _rows(path: Path) -> int:
    stored = SentenceVectorStore.open(path, 60)
    if stored is None:
        return 0
    rows = len(stored)
    stored.close()
    return rows


def _empty_store(settings: Settings) -> None:
    """Drop the collection and its BM25 index (not the folder: Chroma keeps it open)."""
    storage = settings.storage
    client = open_persistent_client(storage.store)
    if storage.collection in {c.name for c in client.list_collections()}:
        client.delete_collection(storage.collection)
    shutil.rmtree(_layout(settings).lexical_dir, ignore_errors=True)


def _add_all(
    store: ChunkStore, path: Path, chunks: Iterator[tuple[Chunk, np.ndarray]], size: int
) -> None:
    batch_size = min(MAX_ADD_BATCH, open_persistent_client(path).get_max_batch_size())
    batch: list[tuple[Chunk, np.ndarray]] = []
    for item in chunks:
        batch.append(item)
        if len(batch) == batch_size:
            _add_batch(store, batch)
            batch = []
    _add_batch(store, batch)
    if store.count() != size:
        raise SystemExit(f"the store holds {store.count()} chunks, not {size}")


def _add_batch(store: ChunkStore, batch: list[tuple[Chunk, np.ndarray]]) -> None:
    if batch:
        store.add([c for c, _ in batch], np.stack([v for _, v in batch]).tolist())


def _disk_mb(folder: Path) -> float:
    return round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


# -- timing --------------------------------------------------------------------------------


def _measure_size(
    size: int,
    pool: Pool,
    embedder: Embedder,
    args: argparse.Namespace,
    warm_up: list[str],
    timed: list[str],
) -> SizeResult:
    settings = Settings.of(
        store=_store_dir(args.store_root, size),
        sentence_cache_size=args.sentence_cache,
        sentence_vectors=args.sentence_vectors == "stored",
    )
    build_s, reused = _ensure_store(settings, embedder, pool, size, args.seed)
    built = _open(settings)
    built.publish(built.version())  # the generation and document count an ingest records
    rows = _ensure_sentence_vectors(settings, embedder, pool, size, args.seed)
    started = time.perf_counter()
    assistant = build_assistant(settings)
    load_s = time.perf_counter() - started
    store = _open(settings)
    lexical = LexicalIndex.load(_layout(settings).lexical_dir)
    if lexical is None:
        raise SystemExit(f"no BM25 index under {_layout(settings).lexical_dir}")
    k = settings.answers.retrieval_candidates
    retriever = HybridRetriever(store, lexical, embedder, k, settings.answers.rrf_k)
    answered: list[bool] = []

    def ask(question: str) -> None:
        answered.append(assistant.ask(question).answered)

    calls: dict[str, Callable[[str], object]] = {
        "ask": ask,
        # the bare cost: embed the question, one dense query
        "baseline": lambda q: store.dense_search(embedder.embed_query(q), k),
        "retrieve": lambda q: retriever.retrieve(q, settings.answers.answer_passages),
        "bm25": lambda q: lexical.search(q, k),
    }
    ms = _time_calls(calls, warm_up, timed)
    result = SizeResult(
        size=size,
        chunks=store.count(),
        build_s=round(build_s, 1),
        build_reused=reused,
        assistant_load_s=round(load_s, 2),
        disk_mb=_disk_mb(settings.storage.store),
        lexical_disk_mb=_disk_mb(_layout(settings).lexical_dir),
        questions=len(timed),
        answered=sum(answered[len(warm_up) :]),
        **{f"{name}_{p}_ms": value for name in calls for p, value in _percentiles(ms[name])},
        sentence_vectors=args.sentence_vectors,
        sentence_rows=rows,
    )
    _log(json.dumps(asdict(result)))
    return result


def _time_calls(
    calls: dict[str, Callable[[str], object]], warm_up: list[str], timed: list[str]
) -> dict[str, list[float]]:
    """Milliseconds of each call on each timed question, after the warm-up questions.

    The order of the calls rotates from question to question, so none of them always runs
    first (on colder caches) or last.
    """
    for question in warm_up:
        for call in calls.values():
            call(question)
    names = list(calls)
    timings: dict[str, list[float]] = {name: [] for name in names}
    for number, question in enumerate(timed):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            timings[name].append(_timed(calls[name], question)[0])
    return timings


def _timed(call: Callable[[str], T], question: str) -> tuple[float, T]:
    """(milliseconds, result) of call(question)."""
    started = time.perf_counter()
    result = call(question)
    return (time.perf_counter() - started) * 1000, result


def _percentiles(values: list[float]) -> list[tuple[str, float]]:
    """[("p50", median), ("p95", value)], rounded to 0.1."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return [("p50", round(statistics.median(ordered), 1)), ("p95", round(p95, 1))]


# -- report --------------------------------------------------------------------------------


def _machine() -> dict[str, object]:
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "load_avg_1m_at_end": round(load[0], 2) if load else None,
    }


def _print_table(report: dict[str, object], results: list[SizeResult]) -> None:
    machine = report["machine"]
    print(f"machine: {machine}")
    print(
        f"pool: {report['pool_sentences']} sentences; sentence cache: "
        f"{report['sentence_cache']}; sentence vectors: {report['sentence_vectors']} "
        f"({', '.join(str(r.sentence_rows) for r in results)} rows); "
        f"stores under {report['store_root']}"
    )
    header = (
        f"{'size':>7} {'chunks':>7} {'build s':>8} {'load s':>7} {'disk MB':>8} "
        f"{'ask p50':>8} {'ask p95':>8} {'base p50':>9} {'base p95':>9} {'retr p50':>9} "
        f"{'bm25 p50':>9} {'answered':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        build = f"{r.build_s:.1f}{'*' if r.build_reused else ''}"
        print(
            f"{r.size:>7} {r.chunks:>7} {build:>8} {r.assistant_load_s:>7.2f} "
            f"{r.disk_mb:>8.1f} {r.ask_p50_ms:>8.1f} {r.ask_p95_ms:>8.1f} "
            f"{r.baseline_p50_ms:>9.1f} {r.baseline_p95_ms:>9.1f} {r.retrieve_p50_ms:>9.1f} "
            f"{r.bm25_p50_ms:>9.1f} {r.answered:>4}/{r.questions:<4}"
        )
    print(
        "times in ms unless marked. base = embed the question + one Chroma dense query "
        "(the baseline); retr = HybridRetriever.retrieve (embed, dense, BM25, fusion, fetch); "
        "bm25 = LexicalIndex.search alone; load = build_assistant; build * = store reused, "
        "time recorded when it was built; disk = store folder with its BM25 index."
    )


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
