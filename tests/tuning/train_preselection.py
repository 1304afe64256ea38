"""Refit the preselection, the cheap ranking that picks the sentences the reader reads.

    pip install -e ".[train]"   # scikit-learn, for training only; answers need numpy alone
    python tests/tuning/train_preselection.py --news ../shared/data/realtimeqa_2023_24 \
        --questions tests/qa/dev.jsonl tests/qa/heldout.jsonl tests/qa/heldout2.jsonl \
        [--work /tmp/summit-preselection] [--undated] [--recollect] [--write]

With the served settings (SUMMIT_ANSWER_PASSAGES and the rest) it
1. retrieves for every question as `summit eval qa` asks it (as of its date unless
   --undated), and for every news question also with its answer articles left out (more
   hard negatives); the news corpus and the bundled one each have a store in --work;
2. labels every candidate sentence (server/answers/candidates.py) positive when it holds a
   key fact, and caches them all in --work, so a rerun only refits;
3. fits logistic regression over RANK_FEATURES on all candidates and prints, out of fold
   (5 folds by question), recall@N: of the questions with a candidate holding a key fact,
   the share with one among the N it ranks first (which the reader then reads);
4. with --write, saves the weights fitted on everything to server/answers/preselection.json.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.answers.candidates import RANK_FEATURES, candidates  # noqa: E402
from server.answers.extractive import distinct_passages  # noqa: E402
from server.answers.preselection import LogisticModel  # noqa: E402
from server.answers.question_kinds import answer_type  # noqa: E402
from server.components import Reader, build_reader, ingest  # noqa: E402
from server.document_dates import Scope  # noqa: E402
from server.evaluation import holds_fact, wilson  # noqa: E402
from server.question_sets import NEWS_CORPUS, UNSCORED, QAItem, load_question_set  # noqa: E402
from server.settings import Settings  # noqa: E402

TOP_N = (1, 3, 6, 12, 20)
TARGET = ROOT / "server" / "answers" / "preselection.json"


@dataclass
class Question:
    """One retrieval's candidates: their features and whether each holds a key fact."""

    key: str  # set:number:with|without
    group: str  # folds keep a question's variants together
    rejection: bool  # asked with the answer's documents left out
    features: list[dict[str, float]]
    labels: list[int]


def collect(reader: Reader, items: list[QAItem], name: str, dated: bool) -> list[Question]:
    found = []
    for number, item in enumerate(items):
        if item.kind == UNSCORED:
            continue
        variants: list[frozenset[str]] = [frozenset()]
        if item.answerable and item.answer_docs:
            variants.append(frozenset(item.answer_docs))
        for exclude in variants:
            scope = Scope(exclude, item.date if dated else None)  # as `summit eval qa` asks
            features, labels = candidate_rows(reader, item, scope)
            found.append(
                Question(
                    key=f"{name}:{number}:{'without' if exclude else 'with'}",
                    group=f"{name}:{number}",
                    rejection=bool(exclude),
                    features=features,
                    labels=labels if item.answerable or exclude else [0] * len(labels),
                )
            )
        if number % 20 == 0:
            print(f"  {name}: {number}/{len(items)}", file=sys.stderr)
    return found


def candidate_rows(
    reader: Reader, item: QAItem, scope: Scope
) -> tuple[list[dict[str, float]], list[int]]:
    """The question's candidates as the answerer sees them: features and labels."""
    retrieval = reader.retriever.retrieve(item.question, reader.extractive.passages_read, scope)
    rows = candidates(
        item.question,
        answer_type(item.question),
        distinct_passages(retrieval.passages),
        retrieval.query_vector,
        retrieval.term_weights,
        reader.encoder,
    )
    labels = [int(any(holds_fact(r.sentence, f) for f in item.answers)) for r in rows]
    return [r.features for r in rows], labels


def matrix(questions: Sequence[Question]) -> tuple[Any, Any]:
    x = [[f[n] for n in RANK_FEATURES] for q in questions for f in q.features]
    y = [label for q in questions for label in q.labels]
    return np.asarray(x, dtype=float).reshape(-1, len(RANK_FEATURES)), np.asarray(y, dtype=int)


def set_weights(questions: Sequence[Question]) -> Any:
    """Each development set weighs as much as the others whatever its size: the news set
    has ten times the candidates of the article's sets, and both kinds of text matter."""
    sizes: dict[str, int] = {}
    for q in questions:
        sizes[_set_of(q)] = sizes.get(_set_of(q), 0) + len(q.features)
    mean = sum(sizes.values()) / len(sizes)
    return np.asarray([mean / sizes[_set_of(q)] for q in questions for _ in q.features])


def _set_of(q: Question) -> str:
    return "news" if q.key.startswith("news:") else "article"


def fit(questions: Sequence[Question]) -> LogisticModel:
    from sklearn.linear_model import LogisticRegression

    x, y = matrix(questions)
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((x - means) / scales, y, sample_weight=set_weights(questions))
    return LogisticModel(
        features=RANK_FEATURES,
        weights=tuple(float(w) for w in model.coef_[0]),
        bias=float(model.intercept_[0]),
        means=tuple(float(m) for m in means),
        scales=tuple(float(s) for s in scales),
    )


def folds(questions: list[Question], k: int = 5) -> list[list[int]]:
    groups = sorted({q.group for q in questions})
    rng = np.random.default_rng(13)
    order = rng.permutation(len(groups))
    fold_of = {groups[g]: n % k for n, g in enumerate(order)}
    return [[i for i, q in enumerate(questions) if fold_of[q.group] == f] for f in range(k)]


def first_positive(q: Question, model: LogisticModel) -> int | None:
    """The place (0: first) of the best-ranked candidate holding a key fact, if any does."""
    order = sorted(range(len(q.features)), key=lambda i: -model.probability(q.features[i]))
    return next((place for place, i in enumerate(order) if q.labels[i]), None)


def out_of_fold(questions: list[Question]) -> list[int | None]:
    """Each question's first positive place, ranked by a model fitted without it."""
    places: list[int | None] = [None] * len(questions)
    for held in folds(questions):
        held_set = set(held)
        model = fit([q for i, q in enumerate(questions) if i not in held_set])
        for i in held:
            places[i] = first_positive(questions[i], model)
    return places


def recall_lines(name: str, places: list[int | None], read: int) -> list[str]:
    """Recall@N of the questions with a positive (their places), with 95 % intervals."""
    reachable = [p for p in places if p is not None]
    lines = [f"{name} ({len(reachable)} of {len(places)} with a candidate holding a key fact)"]
    for n in TOP_N:
        rate = wilson(sum(1 for p in reachable if p < n), len(reachable))
        served = "  (as served)" if n == read else ""
        lines.append(
            f"  top {n:>2}: {rate.count}/{rate.total} {rate.share:.0%} "
            f"[{rate.low:.0%}, {rate.high:.0%}]{served}"
        )
    return lines


def report(questions: list[Question], places: list[int | None], read: int) -> None:
    """Recall@N over the questions as `summit eval qa` asks them, in all and by set."""
    asked = [i for i, q in enumerate(questions) if not q.rejection]
    by_set: dict[str, list[int]] = {}
    for i in asked:
        by_set.setdefault(questions[i].key.split(":")[0], []).append(i)
    print("Out of fold (5 folds by question), a key fact among the top N preselected (recall@N):")
    for name, subset in [("all", asked), *by_set.items()]:
        print("\n".join(recall_lines(name, [places[i] for i in subset], read)))


def load_or_collect(args: argparse.Namespace, settings: Settings) -> list[Question]:
    dating = "undated" if args.undated else f"dated-w{Scope().window_days}"
    cache = args.work / f"preselection-p{settings.answer_passages}-{dating}.json"
    if cache.exists() and not args.recollect:
        return [Question(**q) for q in json.loads(cache.read_text())]
    questions: list[Question] = []
    if args.news:
        news_settings = settings.model_copy(update={"store": args.work / "news-store"})
        ingest(news_settings, [args.news / NEWS_CORPUS], prune=True)
        reader = build_reader(news_settings)
        questions += collect(reader, load_question_set(args.news), "news", not args.undated)
    if args.questions:
        article_settings = settings.model_copy(update={"store": args.work / "article-store"})
        reader = build_reader(article_settings)
        for path in args.questions:
            questions += collect(reader, load_question_set(path), path.stem, not args.undated)
    args.work.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([asdict(q) for q in questions]))
    return questions


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--news", type=Path, help="a RealTimeQA-layout folder")
    parser.add_argument("--questions", type=Path, nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=Path("/tmp/summit-preselection"))
    parser.add_argument("--recollect", action="store_true", help="ignore the cached candidates")
    parser.add_argument(
        "--undated", action="store_true", help="ask as of no date (as `eval qa --undated`)"
    )
    parser.add_argument("--write", action="store_true", help=f"save {TARGET.relative_to(ROOT)}")
    return parser


def saved(model: LogisticModel, args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """preselection.json's content."""
    return {
        "weights": model.to_json(),
        "trained_on": [p.name for p in [args.news, *args.questions] if p],
        "answer_passages": settings.answer_passages,
        "note": "fitted by tests/tuning/train_preselection.py: it ranks the candidate "
        "sentences so the reader reads the best few",
    }


def main() -> None:
    args = arguments().parse_args()
    if not args.news and not args.questions:
        sys.exit("Give --news, --questions or both.")
    settings = Settings()
    questions = load_or_collect(args, settings)
    print(
        f"{len(questions)} retrievals, {sum(len(q.labels) for q in questions)} candidates, "
        f"{sum(sum(q.labels) for q in questions)} holding a key fact "
        f"(answer_passages={settings.answer_passages})"
    )
    report(questions, out_of_fold(questions), settings.answer_read_sentences)
    model = fit(questions)
    print("Weights fitted on everything (standardised features):")
    for name, weight in sorted(
        zip(model.features, model.weights, strict=True), key=lambda nw: -abs(nw[1])
    ):
        print(f"  {name:<22} {weight:+.3f}")
    if args.write:
        TARGET.write_text(json.dumps(saved(model, args, settings), indent=1) + "\n")
        print(f"Wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
