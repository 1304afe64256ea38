"""Experiment: sentence vectors pooled from their chunk's own pass ("late chunking") against
sentences encoded alone, judged by the answer-quality figures of the question sets.

    python tools/measurements/late_chunking.py [--store DIR]

Late chunking would give an ingest every sentence's vector for free (one forward pass makes
the chunk vector and, averaging the token vectors of each sentence's span, the sentence
vectors). It builds the bundled corpus's store, then runs the development and held-out sets
twice: with sentences encoded alone (what answers use) and with span-pooled vectors put in
their place. Prints one JSON line per run.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server import components  # noqa: E402
from server.base.documents import indexed_text  # noqa: E402
from server.base.sentences import split_sentences  # noqa: E402
from server.evaluation.answer_quality import evaluate_qa  # noqa: E402
from server.evaluation.question_sets import load_question_set  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.storage import embeddings  # noqa: E402

SETS = {
    "dev": ["dev.jsonl"],
    "heldout": ["heldout.jsonl", "heldout2.jsonl"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store = args.store or Path(scratch) / "store"
        # Nothing cached: every answer asks the encoder, so the second run sees the swap.
        settings = Settings(store=store, sentence_vectors=False, sentence_cache_size=0)
        assistant = components.build_assistant(settings)
        _report("alone", assistant)
        _use_vectors(_span_pooled(settings))
        _report("span-pooled", assistant)


def _span_pooled(settings: Settings) -> dict[str, Any]:
    """Each stored chunk's sentences, pooled from the chunk's pass (first chunk wins)."""
    embedder = components.build_embedder(settings)
    model = embedder.model
    vectors: dict[str, Any] = {}
    for _, text, meta in components.open_store(settings).records():
        embedded = indexed_text(meta.get("title"), text)
        offsets = model.tokenizer(embedded, return_offsets_mapping=True)["offset_mapping"]
        tokens = model.encode([embedded], output_value="token_embeddings")[0].cpu().numpy()
        start, searched = len(embedded) - len(text), 0
        for sentence in split_sentences(text):
            at = text.find(sentence, searched)
            searched = at + len(sentence)
            span = (start + at, start + searched)
            inside = [n for n, (a, b) in enumerate(offsets) if b > a and span[0] <= a < span[1]]
            pooled = tokens[inside].mean(axis=0)
            vectors.setdefault(sentence, pooled / np.linalg.norm(pooled))
    return vectors


def _use_vectors(vectors: dict[str, Any]) -> None:
    """The answerer's encoder looks these up first (only its sentences are among them)."""
    look_up = embeddings.CachedEncoder._look_up

    def pooled_first(self: Any, texts: list[str], transient: Any) -> dict[str, Any]:
        found = {t: vectors[t] for t in texts if t in vectors}
        rest = [t for t in texts if t not in found]
        return {**found, **(look_up(self, rest, transient) if rest else {})}

    embeddings.CachedEncoder._look_up = pooled_first  # type: ignore[method-assign]


def _report(vectors: str, assistant: Any) -> None:
    for name, files in SETS.items():
        items = [i for f in files for i in load_question_set(ROOT / "tests" / "qa" / f)]
        report = evaluate_qa(assistant, items)
        print(
            json.dumps(
                {
                    "sentence_vectors": vectors,
                    "set": name,
                    "answered_with_cited_fact": round(report.answered_with_cited_fact, 3),
                    "over_refusal": round(report.over_refusal, 3),
                    "refusal_by_kind": report.refusal_by_kind,
                }
            )
        )


if __name__ == "__main__":
    main()
