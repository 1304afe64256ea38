"""Retrieval evaluation: metrics checked against pytrec_eval (the trec_eval that BEIR uses),
the BEIR layout read with clear errors, and `summit eval retrieval` end to end on a small
dataset written here (the real model and a real Chroma store)."""

import json
import random
from pathlib import Path

import pytest
import pytrec_eval
from typer.testing import CliRunner

from server.cli import app
from server.errors import SummitError
from server.evaluation.retrieval_quality import (
    RetrievalReport,
    load_beir,
    mrr_at,
    ndcg_at,
    recall_at,
    score_runs,
)


def random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(300)]
    qrels = {
        f"q{q}": {doc: rng.choice([1, 1, 2, 3]) for doc in rng.sample(docs, rng.randint(1, 6))}
        for q in range(40)
    }
    runs = {qid: rng.sample(docs, rng.randint(0, 150)) for qid in qrels if rng.random() > 0.05}
    for qid, ranking in runs.items():  # plant some hits near the top
        for doc in list(qrels[qid])[:2]:
            if rng.random() > 0.4:
                ranking.insert(rng.randint(0, 12), doc)
        runs[qid] = list(dict.fromkeys(ranking))
    return qrels, runs


def trec_scores(
    qrels: dict[str, dict[str, int]], runs: dict[str, list[str]]
) -> tuple[float, float, float]:
    """Means over every judged query, as BEIR reports them (a query with no run counts 0)."""

    def as_run(rankings: dict[str, list[str]], cut: int | None) -> dict[str, dict[str, float]]:
        return {
            qid: {doc: float(len(r) - i) for i, doc in enumerate(r[:cut])}
            for qid, r in rankings.items()
        }

    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.100"})
    per_query = full.evaluate(as_run(runs, None))
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(as_run(runs, 10))
    n = len(qrels)
    return (
        round(sum(s["ndcg_cut_10"] for s in per_query.values()) / n, 4),
        round(sum(s["recall_100"] for s in per_query.values()) / n, 4),
        round(sum(s["recip_rank"] for s in rr.values()) / n, 4),
    )


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_pytrec_eval(seed: int) -> None:
    qrels, runs = random_case(seed)
    assert score_runs(runs, qrels) == pytest.approx(trec_scores(qrels, runs), abs=1e-4)


def test_metrics_on_a_hand_worked_ranking() -> None:
    relevant = {"a": 1, "c": 1}
    assert ndcg_at(["a", "b", "c"], relevant, 10) == pytest.approx(
        (1 + 1 / 2) / (1 + 1 / 1.585), 1e-3
    )
    assert recall_at(["b", "c"], relevant, 100) == 0.5
    assert mrr_at(["b", "c"], relevant, 10) == 0.5
    assert mrr_at(["b"] * 10 + ["a"], relevant, 10) == 0.0


def write_dataset(folder: Path) -> Path:
    """A small BEIR-layout dataset: each query names the rare words of its one document."""
    topics = [
        ("volcano", "Magma rises through the crust and erupts as lava from the volcano."),
        ("glacier", "The glacier carved a deep valley as the ice slowly moved downhill."),
        ("coral", "Coral reefs bleach when warm water drives out their symbiotic algae."),
        ("comet", "A comet grows a bright tail of gas and dust as it nears the sun."),
        ("tidal", "Tidal power plants turn the rise and fall of the sea into electricity."),
        ("lichen", "Lichen is a partnership of a fungus and an alga living on bare rock."),
    ]
    folder.mkdir()
    (folder / "qrels").mkdir()
    with (folder / "corpus.jsonl").open("w") as corpus:
        for i, (title, text) in enumerate(topics):
            corpus.write(json.dumps({"_id": f"d{i}", "title": title.title(), "text": text}) + "\n")
    questions = [f"What happens with the {title}?" for title, _ in topics]
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": q}) + "\n" for i, q in enumerate(questions))
        + json.dumps({"_id": "unjudged", "text": "Not part of the test split."})
        + "\n"
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(len(topics)))
    )
    return folder


def test_load_beir_reads_judged_queries_only(tmp_path: Path) -> None:
    dataset = load_beir(write_dataset(tmp_path / "set"))
    assert len(dataset.queries) == 6 and "unjudged" not in dataset.queries
    assert dataset.qrels["q0"] == {"d0": 1}


def test_load_beir_names_what_is_missing(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "set")
    (folder / "qrels" / "test.tsv").unlink()
    with pytest.raises(SummitError, match=r"test\.tsv is missing"):
        load_beir(folder)


@pytest.mark.e2e
def test_eval_retrieval_scores_every_method_and_reuses_its_store(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "set")
    store = tmp_path / "eval-store"
    args = ["eval", "retrieval", str(folder), "--store", str(store), "--json"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.stderr
    report = RetrievalReport.model_validate_json(first.stdout)
    assert report.queries == 6 and report.documents == 6 and not report.store_reused
    assert set(report.methods) == {"dense", "bm25", "hybrid", "served"}
    for scores in report.methods.values():
        assert scores.ndcg_at_10 > 0.8 and scores.recall_at_100 == 1.0
    rerun = CliRunner().invoke(app, [*args, "--whole-documents"])
    again = RetrievalReport.model_validate_json(rerun.stdout)
    assert again.store_reused
    assert again.methods["hybrid"].ndcg_at_10 == report.methods["hybrid"].ndcg_at_10
    assert again.methods["dense-whole-doc"].recall_at_100 == 1.0


def test_eval_retrieval_of_a_folder_that_is_not_a_dataset_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["eval", "retrieval", str(tmp_path)])
    assert result.exit_code == 1 and "corpus.jsonl is missing" in result.stderr
    assert result.stderr.count("\n") == 1
