"""Embedding throughput: sentence-transformers against the ONNX backend at several batch sizes
and graph optimisations, on the same texts, in interleaved rounds.

    python tools/benchmarks/bench_embedding.py [--texts 512] [--rounds 3] [--json]

Texts: SciFact abstracts (../shared/data/scifact, read in place) cut into ~110-word pieces
(ingest chunks) and split into sentences (what answers encode). Candidates: torch
(sentence-transformers, batch 32, its default); the ONNX export (from the model cache,
exported if missing) with onnxruntime's graph optimisation at ORT_ENABLE_ALL (what the
backend uses) and at ORT_ENABLE_BASIC, at batch 1 / 4 / 8 / 16 / 32; and the graph fused
by onnxruntime's transformer optimiser with its GELU approximation ("O4", as optimum calls
it), at batch 1. Each candidate embeds all texts once per round; the median texts/s is
reported with the max abs difference of its vectors from torch's.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.settings import Settings  # noqa: E402
from server.storage.embeddings import SentenceEmbedder, model_folder  # noqa: E402
from server.storage.onnx_cache import exported_model  # noqa: E402
from server.storage.onnx_model import ExportedModel  # noqa: E402
from server.storage.onnx_runtime import OnnxRuntime  # noqa: E402

SCIFACT = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=512, help="texts of each kind")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    embedding = Settings().embedding
    export = exported_model(model_folder(embedding.embedding_model), embedding.model_cache)
    torch_model = SentenceEmbedder(embedding.embedding_model).model
    report = {}
    for kind, texts in texts_of_each_kind(args.texts).items():
        candidates = candidates_for(export, torch_model)
        reference = torch_model.encode(texts, batch_size=32)
        report[kind] = measure(candidates, texts, reference, args.rounds)
    if args.json:
        print(json.dumps(report))
        return
    for kind, rows in report.items():
        print(f"{kind}: texts/s (median of {args.rounds}), max abs difference from torch")
        for name, row in rows.items():
            print(f"  {name:<28} {row['per_s']:>7.1f}   {row['max_abs_diff']:.1e}")


def texts_of_each_kind(count: int) -> dict[str, list[str]]:
    chunks: list[str] = []
    sentences: list[str] = []
    with SCIFACT.open(encoding="utf-8") as lines:
        for line in lines:
            words = json.loads(line)["text"].split()
            chunks += [" ".join(words[n : n + 110]) for n in range(0, len(words), 110)]
            sentences += [s for s in re.split(r"(?<=[.!?])\s+", " ".join(words)) if s]
            if len(chunks) >= count and len(sentences) >= count:
                break
    return {"chunks (~110 words)": chunks[:count], "sentences": sentences[:count]}


Encode = Callable[[list[str]], Any]


def candidates_for(export: ExportedModel, torch_model: Any) -> dict[str, Encode]:
    found: dict[str, Encode] = {
        "torch, batch 32": lambda texts: torch_model.encode(texts, batch_size=32)
    }
    runtime = with_graph(export, export.onnx_path, "ORT_ENABLE_ALL")
    for batch in (1, 4, 8, 16, 32):
        found[f"onnx ALL, batch {batch}"] = lambda t, b=batch: runtime.encode(t, b)
    basic = with_graph(export, export.onnx_path, "ORT_ENABLE_BASIC")
    found["onnx BASIC, batch 1"] = lambda t: basic.encode(t, 1)
    fused = with_graph(export, fused_graph(export), "ORT_ENABLE_ALL")
    found["onnx fused + GELU approx, batch 1"] = lambda t: fused.encode(t, 1)
    return found


def with_graph(export: ExportedModel, graph: Path, level: str) -> OnnxRuntime:
    return OnnxRuntime(graph, export.tokenizer_path, export.layout, export.input_names, level)


def fused_graph(export: ExportedModel) -> Path:
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.enable_gelu_approximation = True
    fused = optimize_model(
        str(export.onnx_path), model_type="bert", optimization_options=options, opt_level=1
    )
    path = Path(tempfile.mkdtemp(prefix="summit-fused-")) / "fused.onnx"
    fused.save_model_to_file(str(path))
    return path


def measure(
    candidates: dict[str, Encode], texts: list[str], reference: Any, rounds: int
) -> dict[str, dict[str, float]]:
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    differences = {
        name: float(np.abs(np.asarray(encode(texts[:64])) - reference[:64]).max())
        for name, encode in candidates.items()  # also warms each candidate up
    }
    for _ in range(rounds):
        for name, encode in candidates.items():
            started = time.perf_counter()
            encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    return {
        name: {"per_s": round(statistics.median(rates[name]), 1), "max_abs_diff": differences[name]}
        for name in candidates
    }


if __name__ == "__main__":
    main()
