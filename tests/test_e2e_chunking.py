"""With the real tokenizer: no chunk is ever truncated by the embedding model."""

import json
from pathlib import Path

import pytest

from ingest.chunker import Chunker, ChunkingPolicy
from ingest.loaders import load_file
from server.storage.embeddings import Embedder

pytestmark = pytest.mark.e2e
SCIFACT = Path(__file__).parent.parent.parent / "shared" / "data" / "scifact" / "corpus.jsonl"


def test_every_chunk_fits_the_model_with_its_title(real_embedder: Embedder, tmp_path: Path) -> None:
    long_title = "A very long headline " * 40
    path = tmp_path / "hostile.jsonl"
    rows = [
        {"_id": "1", "title": long_title, "text": "Supercalifragilistic " * 600},
        {"_id": "2", "title": "Numbers", "text": " ".join(str(n) for n in range(3000))},
        {"_id": "3", "text": "Short. " * 500 + "日本と韓国の首脳会談が奈良で開かれた。" * 40},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    documents = load_file(path, lambda *_: None)
    if SCIFACT.exists():  # real abstracts, many longer than the model's 256 word pieces
        documents += load_file(SCIFACT, lambda *_: None)[:300]
    policy = ChunkingPolicy(real_embedder.max_tokens, 250, 1)
    chunker = Chunker(real_embedder.count_tokens, policy)
    chunks = [c for d in documents for c in chunker.chunk(d)]
    lengths = real_embedder.count_tokens([c.indexed_text for c in chunks])
    assert max(lengths) <= real_embedder.max_tokens == 256
    assert len(chunks) > len(documents)
