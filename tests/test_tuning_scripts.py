"""The tuning scripts' own decisions, on hand-made candidates: what the cross-encoder
experiment trains on and how it scores, so the experiment stays runnable and honest."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

TUNING = Path(__file__).parent / "tuning"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TUNING / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def experiment() -> ModuleType:
    return _module("compare_cross_encoder")


def _question(
    experiment: ModuleType, labels: list[int], similarities: list[float], **kw: object
) -> Any:
    return experiment.Question(
        key=str(kw.get("key", "news:0:with")),
        group="news:0",
        answerable=bool(kw.get("answerable", True)),
        rejection=bool(kw.get("rejection", False)),
        features=[{"sentence_similarity": s, "cross_encoder": -s} for s in similarities],
        labels=labels,
        question="Who won?",
        sentences=[f"sentence {i}" for i in range(len(labels))],
        titles=["Title", *[""] * (len(labels) - 1)],
    )


def test_training_pairs_are_every_positive_and_the_most_similar_negatives(
    experiment: ModuleType,
) -> None:
    similarities = [0.1 * i for i in range(20)]  # sentence 19 the most similar
    labels = [1 if i == 3 else 0 for i in range(20)]
    rows = experiment.training_rows([_question(experiment, labels, similarities)], 2)
    positives = [pair for pair, y in rows if y == 1.0]
    negatives = [pair[1] for pair, y in rows if y == 0.0]
    assert positives == [("Who won?", "sentence 3")]
    assert negatives[:2] == ["sentence 19", "sentence 18"]  # hard ones first
    assert len(negatives) == 2 + experiment.RANDOM_NEGATIVES
    assert "sentence 3" not in negatives
    assert experiment.pair_of(_question(experiment, labels, similarities), 0) == (
        "Who won?",
        "Title: sentence 0",
    )


def test_questions_asked_without_their_answer_are_not_trained_on(experiment: ModuleType) -> None:
    question = _question(experiment, [0, 0, 0], [0.1, 0.2, 0.3], rejection=True, answerable=False)
    assert experiment.training_rows([question], 2) == []


def test_the_cross_encoder_alone_answers_with_its_best_sentence(experiment: ModuleType) -> None:
    # cross_encoder is -similarity: its best sentence is the least similar one (index 0)
    right = _question(experiment, [1, 0], [0.1, 0.9])
    wrong = _question(experiment, [0, 1], [0.1, 0.9])
    decided = experiment.cross_alone([right, wrong])
    assert [d.right for d in decided] == [True, False]
    assert decided[0].confidence == pytest.approx(1 / (1 + 2.718281828**0.1), abs=1e-6)
    assert experiment.first_right([right, wrong], "cross_encoder") == "1/2"
    assert experiment.first_right([right, wrong], "sentence_similarity") == "1/2"


def test_the_window_read_by_default_is_the_served_one() -> None:
    from server.document_dates import Scope

    parser = _module("train_answerer").development_arguments("test")
    assert parser.parse_args([]).window_days == Scope().window_days
