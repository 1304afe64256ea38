"""How many syndicated copies a news corpus holds, and what the near-duplicate threshold
merges: every pair of articles compared by their MinHash fingerprints (the ones ingest
computes, ingest/near_duplicates.py), then the articles ingest would keep out, in corpus
order, at each threshold, by the copy score ingest uses and by Jaccard similarity alone; a
seeded sample of merged pairs to check by hand, and every pair the copy score merges that
Jaccard similarity alone would not.

    python tools/measurements/measure_near_duplicates.py \
        ../shared/data/realtimeqa_2023_24/corpus.jsonl \
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

from ingest.near_duplicates import SHINGLE_WORDS, CopyFinder, Fingerprint, copy_score, fingerprint

THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def read_articles(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def similar_pairs(found: list[Fingerprint], floor: float) -> list[tuple[float, float, int, int]]:
    """(copy score of the later as a copy of the earlier, estimated Jaccard, i, j) of every
    pair i < j whose Jaccard similarity is at or above `floor`."""
    hashes = np.stack([f.minhash.hashvalues for f in found])
    pairs = []
    for i in range(len(hashes) - 1):
        shared = (hashes[i + 1 :] == hashes[i]).mean(axis=1)
        for offset in np.nonzero(shared >= floor)[0]:
            j = i + 1 + int(offset)
            pairs.append((copy_score(found[j], found[i]), float(shared[offset]), i, j))
    return pairs


def kept_out(
    pairs: list[tuple[float, float, int, int]], threshold: float, count: int, jaccard: bool = False
) -> dict[int, int]:
    """What ingest does in corpus order: an article similar to one kept is a copy of it."""
    near: dict[int, list[int]] = {}
    for score, similarity, i, j in pairs:
        if (similarity if jaccard else score) >= threshold:
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
        found = fingerprint(str(article["text"]))
        if finder.originals(str(article["_id"]), found):
            count += 1
        else:
            finder.add(str(article["_id"]), found)
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
    found = [fingerprint(str(a["text"])) for a in articles]
    pairs = similar_pairs(found, min(THRESHOLDS))
    print(f"{len(articles)} articles, {len(pairs)} pairs at estimated Jaccard ≥ {min(THRESHOLDS)}")
    for threshold in THRESHOLDS:
        copies = kept_out(pairs, threshold, len(articles))
        by_jaccard = kept_out(pairs, threshold, len(articles), jaccard=True)
        at = sum(1 for s, _, _, _ in pairs if s >= threshold)
        print(
            f"threshold {threshold:.1f}: {at} pairs, {len(copies)} articles kept out as copies "
            f"(Jaccard alone: {len(by_jaccard)})"
        )

    merged = kept_out(pairs, args.at, len(articles))
    by_finder = finder_kept_out(articles, args.at)
    print(f"at {args.at}: all pairs compared keep out {len(merged)}, ingest's finder {by_finder}")
    chosen = random.Random(args.seed).sample(sorted(merged.items()), min(args.sample, len(merged)))
    added = set(merged.items()) - set(kept_out(pairs, args.at, len(articles), True).items())
    print(f"merged by the copy score, not by Jaccard alone: {len(added)}")
    sample = []
    for copy, original in sorted(set(chosen) | added):
        a, b = articles[original], articles[copy]
        score, similar = next((s, m) for s, m, i, j in pairs if (i, j) == (original, copy))
        exact = exact_jaccard(str(a["text"]), str(b["text"]))
        sample.append({"score": round(score, 3), "estimated": round(similar, 3),
                       "exact": round(exact, 3), "grams": [found[original].grams,
                       found[copy].grams], "original": described(a),
                       "copy": described(b)})  # fmt: skip
        if (copy, original) in added:
            print(f"  {score:.2f} (Jaccard {similar:.2f}): {a['_id']} → copy {b['_id']}")
    if args.sample_out:
        args.sample_out.write_text(json.dumps(sample, indent=1, ensure_ascii=False))
        print(f"{len(sample)} merged pairs at {args.at} written to {args.sample_out}")


if __name__ == "__main__":
    main()
