"""The tuning scripts' own decisions, on hand-made candidates: what the preselection is
trained on, how its recall is counted and what it writes, so the script stays runnable
and honest."""

import argparse
import importlib.util
import json
import sys
from dataclasses import asdict
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from server.answers.candidates import RANK_FEATURES, Candidate
from server.answers.preselection import LogisticModel
from server.question_sets import UNSCORED, QAItem
from server.retrieval import Retrieval

TUNING = Path(__file__).parent / "tuning"


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TUNING / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _module("train_preselection")


def _features(similarity: float) -> dict[str, float]:
    return {name: similarity if name == "sentence_similarity" else 0.0 for name in RANK_FEATURES}


def _question(script: ModuleType, labels: list[int], similarities: list[float], **kw: Any) -> Any:
    return script.Question(
        key=str(kw.get("key", "news:0:with")),
        group=str(kw.get("group", "news:0")),
        rejection=bool(kw.get("rejection", False)),
        features=[_features(s) for s in similarities],
        labels=labels,
    )


def _by_similarity() -> LogisticModel:
    weights = tuple(1.0 if name == "sentence_similarity" else 0.0 for name in RANK_FEATURES)
    zeros, ones = (0.0,) * len(RANK_FEATURES), (1.0,) * len(RANK_FEATURES)
    return LogisticModel(RANK_FEATURES, weights, 0.0, zeros, ones)


def test_recall_counts_the_questions_with_a_positive_among_the_top_n(script: ModuleType) -> None:
    model = _by_similarity()
    first = _question(script, [1, 0, 0], [0.9, 0.5, 0.1])
    third = _question(script, [0, 0, 1], [0.9, 0.5, 0.1])
    none = _question(script, [0, 0], [0.9, 0.5])
    places = [script.first_positive(q, model) for q in (first, third, none)]
    assert places == [0, 2, None]
    lines = script.recall_lines("news", places, read=3)
    assert lines[0] == "news (2 of 3 with a candidate holding a key fact)"
    assert lines[1].startswith("  top  1: 1/2 50% [")
    assert lines[2].startswith("  top  3: 2/2 100% [") and lines[2].endswith("(as served)")


def test_the_fit_ranks_what_holds_a_key_fact_first(script: ModuleType) -> None:
    questions = [
        _question(script, [1, 0, 0], [0.8 + 0.01 * n, 0.3, 0.1], group=f"news:{n}")
        for n in range(10)
    ]
    model = script.fit(questions)
    assert model.features == RANK_FEATURES
    assert all(script.first_positive(q, model) == 0 for q in questions)
    assert script.out_of_fold(questions) == [0] * len(questions)


def test_folds_keep_a_questions_variants_together(script: ModuleType) -> None:
    questions = [
        _question(script, [0], [0.1], key=f"news:{n}:{variant}", group=f"news:{n}")
        for n in range(12)
        for variant in ("with", "without")
    ]
    folds = script.folds(questions)
    assert sorted(i for fold in folds for i in fold) == list(range(len(questions)))
    for fold in folds:
        assert all(i ^ 1 in fold for i in fold)  # with (even) and without (odd) side by side


def test_collection_labels_key_facts_and_asks_news_without_its_answer(
    script: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentences = ["Alice won the race.", "Bob came second."]
    rows = [Candidate(0, i, s, _features(0.5)) for i, s in enumerate(sentences)]
    monkeypatch.setattr(script, "candidates", lambda *_: rows)
    scopes = []

    def retrieve(question: str, passages: int, scope: Any) -> Retrieval:
        scopes.append(scope)
        return Retrieval(query_vector=[], passages=[])

    reader = SimpleNamespace(
        retriever=SimpleNamespace(retrieve=retrieve),
        extractive=SimpleNamespace(passages_read=10),
        encoder=None,
    )
    items = [
        QAItem(question="Who won?", answers=["Alice"], answerable=True, answer_docs=["a.txt"]),
        QAItem(question="Who lost?", answers=["Alice"], answerable=False),
        QAItem(question="Who else?", answerable=False, kind=UNSCORED),
    ]
    found = script.collect(reader, items, "news", dated=True)
    assert [q.key for q in found] == ["news:0:with", "news:0:without", "news:1:with"]
    assert [q.labels for q in found] == [[1, 0], [1, 0], [0, 0]]
    assert [q.rejection for q in found] == [False, True, False]
    assert scopes[1].exclude == frozenset({"a.txt"})
    assert [script.Question(**asdict(q)) for q in found] == found  # as the cache reads them


def test_what_it_writes_is_the_shipped_files_format(script: ModuleType) -> None:
    args = argparse.Namespace(news=Path("realtimeqa"), questions=[Path("qa/dev.jsonl")])
    data = script.saved(_by_similarity(), args, SimpleNamespace(answer_passages=10))
    assert data["trained_on"] == ["realtimeqa", "dev.jsonl"]
    assert LogisticModel.from_json(json.loads(json.dumps(data))["weights"]) == _by_similarity()
    shipped = json.loads(script.TARGET.read_text())
    assert set(shipped) == set(data)
    assert LogisticModel.from_json(shipped["weights"]).features == RANK_FEATURES


def test_the_command_line_asks_as_served_by_default(script: ModuleType) -> None:
    args = script.arguments().parse_args([])
    assert not args.undated and not args.write and not args.recollect
