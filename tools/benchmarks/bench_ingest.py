"""Ingest throughput against bare SentenceTransformer.encode of the same chunk texts.

    python tools/benchmarks/bench_ingest.py [CORPUS.jsonl] [--limit N] [--sentence-vectors]
        [--bare-batch 32]

Default corpus: ../shared/data/scifact/corpus.jsonl (evaluation data, read in place).
Both sides embed the same chunk texts with the same model files; the ingest side with the
configured backend (SUMMIT_EMBEDDING_BACKEND, default onnx), the bare side with
sentence-transformers at its default batch size (32) unless --bare-batch says otherwise.
Model loads and the export are not timed. The ingest side is the whole pipeline as
`summit ingest` runs it (read, chunk, embed, Chroma write, BM25; with --sentence-vectors,
as `summit ingest --sentence-vectors`, also the vector of every chunk's sentence, which
answers then look up).

As whole processes, model loads and imports included (--dump writes both sides' inputs), e.g.
with hyperfine (Debian's package), the two commands taking turns:

    python tools/benchmarks/bench_ingest.py --limit 1000 --dump /tmp/ingest-bench
    hyperfine -r 3 -p 'rm -rf /tmp/ingest-bench/store' \
        'summit ingest /tmp/ingest-bench/corpus.jsonl --store /tmp/ingest-bench/store' \
        'python tools/benchmarks/bare_encode.py /tmp/ingest-bench/texts.json'
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.loaders import load_file  # noqa: E402
from ingest.pipeline import IngestPipeline  # noqa: E402
from server.components import build_pipeline  # noqa: E402
from server.components.store import (  # noqa: E402
    build_embedder,
    ingest_sentence_vectors,
    open_store,
    store_layout,
)
from server.settings import Settings  # noqa: E402
from server.storage.embeddings import SentenceEmbedder  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="first N records only")
    parser.add_argument("--sentence-vectors", action="store_true")
    parser.add_argument("--bare-batch", type=int, default=32, help="the bare side's batch")
    parser.add_argument(
        "--dump",
        type=Path,
        metavar="FOLDER",
        help="write the records (FOLDER/corpus.jsonl) and their chunk texts (FOLDER/texts.json) "
        "for timing `summit ingest` against bare_encode.py as whole processes; time nothing",
    )
    args = parser.parse_args()
    if args.dump:
        dump(args.corpus, args.limit, args.dump)
        return
    with tempfile.TemporaryDirectory() as work:
        corpus = _subset(args.corpus, args.limit, Path(work))
        settings = Settings.of(
            store=Path(work) / "store", ingest_sentence_vectors=args.sentence_vectors
        )
        embedder = build_embedder(settings.embedding, bulk=True)
        store = open_store(settings.storage, settings.embedding)
        layout = store_layout(settings.storage, settings.embedding)
        vectors = ingest_sentence_vectors(layout, settings.ingest)
        pipeline = build_pipeline(settings, store, embedder, vectors)
        texts = _chunk_texts(pipeline, corpus)
        bare_model = SentenceEmbedder(settings.embedding.embedding_model).model
        embedder.encode(texts[:64])  # warm up both sides alike
        bare_model.encode(texts[:64], batch_size=args.bare_batch)

        started = time.perf_counter()
        bare_model.encode(texts, batch_size=args.bare_batch)
        bare = time.perf_counter() - started

        started = time.perf_counter()
        report = pipeline.ingest([corpus])
        ingest = time.perf_counter() - started

    print(
        json.dumps(
            {
                "corpus": str(args.corpus),
                "documents": report.added,
                "chunks": len(texts),
                "bare_encode_s": round(bare, 2),
                "bare_chunks_per_s": round(len(texts) / bare, 1),
                "ingest_s": round(ingest, 2),
                "ingest_chunks_per_s": round(len(texts) / ingest, 1),
                "ratio": round(bare / ingest, 3),
                "backend": settings.embedding.embedding_backend,
                "bare_batch": args.bare_batch,
                "sentence_vectors": settings.ingest.ingest_sentence_vectors,
            }
        )
    )


def dump(corpus: Path, limit: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    records = _subset(corpus, limit, folder)
    with tempfile.TemporaryDirectory() as work:
        settings = Settings.of(store=Path(work) / "store")
        store = open_store(settings.storage, settings.embedding)
        pipeline = build_pipeline(settings, store, build_embedder(settings.embedding), None)
        texts = _chunk_texts(pipeline, records)
    (folder / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    print(f"{records}: {len(texts)} chunk texts in {folder / 'texts.json'}")


def _subset(corpus: Path, limit: int, work: Path) -> Path:
    if not limit:
        return corpus
    lines = corpus.read_text(encoding="utf-8").splitlines()[:limit]
    subset = work / corpus.name
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return subset


def _chunk_texts(pipeline: IngestPipeline, corpus: Path) -> list[str]:
    documents = load_file(corpus, lambda *_: None)
    return [c.indexed_text for d in documents for c in pipeline.chunker.chunk(d)]


if __name__ == "__main__":
    main()
