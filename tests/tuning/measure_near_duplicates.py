"""How many syndicated copies a news corpus holds, and what the near-duplicate threshold
merges: every pair of articles compared by their MinHash signatures (the ones ingest
computes, ingest/near_duplicates.py), then the articles ingest would keep out, in corpus
order, at each threshold; and a seeded sample of merged pairs to check by hand.

    python tests/tuning/measure_near_duplicates.py ../shared/data/realtimeqa_2023_24/corpus.jsonl \
        --sample 30 --at 0.5

The corpus is read where it lies (evaluation data is never copied into the project).
"""

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingest.near_duplicates import SHINGLE_WORDS, CopyFinder, signature

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def read_articles(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def signatures(articles: list[dict[str, object]]) -> np.ndarray:
    return np.stack([signature(str(a["text"])).hashvalues for a in articles])


def similar_pairs(hashes: np.ndarray, floor: float) -> list[tuple[float, int, int]]:
    """(estimated Jaccard, i, j) of every pair i < j at or above `floor`."""
    pairs = []
    for i in range(len(hashes) - 1):
        shared = (hashes[i + 1 :] == hashes[i]).mean(axis=1)
        for offset in np.nonzero(shared >= floor)[0]:
            pairs.append((float(shared[offset]), i, i + 1 + int(offset)))
    return pairs


def kept_out(pairs: list[tuple[float, int, int]], threshold: float, count: int) -> dict[int, int]:
    """What ingest does in corpus order: an article similar to one kept is a copy of it."""
    near: dict[int, list[int]] = {}
    for score, i, j in pairs:
        if score >= threshold:
            near.setdefault(j, []).append(i)
    copies: dict[int, int] = {}
    for j in range(count):
        kept_before = [i for i in near.get(j, []) if i not in copies]
        if kept_before:
            copies[j] = kept_before[0]
    return copies


def finder_kept_out(articles: list[dict[str, object]], threshold: float) -> int:
    """The copies ingest's own finder (LSH candidates, then the threshold) keeps out."""
    finder, count = CopyFinder(threshold), 0
    for article in articles:
        minhash = signature(str(article["text"]))
        if finder.originals(str(article["_id"]), minhash):
            count += 1
        else:
            finder.add(str(article["_id"]), minhash)
    return count


def exact_jaccard(a: str, b: str) -> float:
    def grams(text: str) -> set[str]:
        words = text.lower().split()
        return {" ".join(words[k : k + SHINGLE_WORDS]) for k in range(len(words) - 4)}

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / max(1, len(ga | gb))


def described(article: dict[str, object]) -> dict[str, object]:
    meta = article.get("metadata") or {}
    assert isinstance(meta, dict)
    text = str(article["text"])
    return {
        "id": article["_id"],
        "title": article.get("title"),
        "outlet": meta.get("outlet"),
        "published": meta.get("published"),
        "url": meta.get("url"),
        "chars": len(text),
        "start": " ".join(text.split())[:300],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--at", type=float, default=0.5, help="threshold the sample is drawn at")
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--sample-out", type=Path, help="write the sampled pairs here (JSON)")
    args = parser.parse_args()

    articles = read_articles(args.corpus)
    pairs = similar_pairs(signatures(articles), min(THRESHOLDS))
    print(f"{len(articles)} articles, {len(pairs)} pairs at estimated Jaccard ≥ {min(THRESHOLDS)}")
    for threshold in THRESHOLDS:
        copies = kept_out(pairs, threshold, len(articles))
        at = sum(1 for s, _, _ in pairs if s >= threshold)
        print(f"threshold {threshold:.1f}: {at} pairs, {len(copies)} articles kept out as copies")

    merged = kept_out(pairs, args.at, len(articles))
    found = finder_kept_out(articles, args.at)
    print(f"at {args.at}: all pairs compared keep out {len(merged)}, ingest's finder {found}")
    chosen = random.Random(args.seed).sample(sorted(merged.items()), min(args.sample, len(merged)))
    sample = []
    for copy, original in chosen:
        a, b = articles[original], articles[copy]
        score = next(s for s, i, j in pairs if (i, j) == (original, copy))
        exact = exact_jaccard(str(a["text"]), str(b["text"]))
        sample.append({"estimated": round(score, 3), "exact": round(exact, 3),
                       "original": described(a), "copy": described(b)})  # fmt: skip
    if args.sample_out:
        args.sample_out.write_text(json.dumps(sample, indent=1, ensure_ascii=False))
        print(f"{len(sample)} merged pairs at {args.at} written to {args.sample_out}")


if __name__ == "__main__":
    main()
