"""The answerer's training script's own decisions, on hand-made candidates: the reader's
figures are read for the best-ranked few as the served answerer reads them, and only those
decide, so the weights it fits are the weights answers use."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from server.answers.model import LogisticModel

TUNING = Path(__file__).parent / "tuning"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TUNING / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trainer() -> ModuleType:
    return _module("train_answerer")


def _model(feature: str) -> LogisticModel:
    return LogisticModel((feature,), (1.0,), 0.0, (0.0,), (1.0,), 0.5)


def _question(trainer: ModuleType, labels: list[int], similarities: list[float]) -> Any:
    return trainer.Question(
        key="news:0:with",
        group="news:0",
        answerable=True,
        rejection=False,
        # the reader disagrees with the ranking: it likes the least similar sentence best
        features=[{"sentence_similarity": s, "reader_logit": -10 * s} for s in similarities],
        labels=labels,
    )


def test_the_best_ranked_few_are_read_with_their_gap_to_the_best_reading(
    trainer: ModuleType,
) -> None:
    question = _question(trainer, [0, 0, 0, 1], [0.4, 0.9, 0.1, 0.7])
    top, read = trainer.read_top(question, _model("sentence_similarity"), 2)
    assert top == [1, 3]  # the two most similar, best first
    assert [f["reader_gap"] for f in read] == pytest.approx([-2.0, 0.0])


def test_only_the_sentences_read_decide(trainer: ModuleType) -> None:
    # the reader's favourite (sentence 2, the least similar) is not among the two read
    question = _question(trainer, [0, 0, 1, 0], [0.4, 0.9, 0.1, 0.7])
    rank, answer = _model("sentence_similarity"), _model("reader_gap")
    decided = trainer.decide(question, rank, answer, trainer.Recipe(("reader_gap",), 2))
    assert not decided.right
    decided = trainer.decide(question, rank, answer, trainer.Recipe(("reader_gap",), 4))
    assert decided.right and decided.confidence == pytest.approx(0.5)


def test_the_window_read_by_default_is_the_served_one(trainer: ModuleType) -> None:
    from server.retrieval.dates import Scope

    parser = trainer.development_arguments("test")
    assert parser.parse_args([]).window_days == Scope().window_days


def test_the_sentences_read_by_default_are_the_served_number(trainer: ModuleType) -> None:
    from server.settings import Settings

    assert trainer.Recipe().read == Settings().answer_read_sentences


def test_the_near_duplicate_count_keeps_out_copies_in_corpus_order() -> None:
    measure = _module("measure_near_duplicates")
    story = " ".join(f"word{i} said{i % 7}" for i in range(200))
    other = " ".join(f"item{i} told{i % 5}" for i in range(200))
    articles = [
        {"_id": "a", "text": story},
        {"_id": "b", "text": other},
        {"_id": "c", "text": "Reprinted. " + story},  # a copy of a
        {"_id": "d", "text": story + " Updated."},  # a copy of a, not of its copy c
    ]
    pairs = measure.similar_pairs(measure.signatures(articles), 0.2)
    assert measure.kept_out(pairs, 0.8, len(articles)) == {2: 0, 3: 0}
    assert measure.finder_kept_out(articles, 0.8) == 2
