"""End to end through the real `summit` command line: the real embedding model, a real
Chroma store on disk, the bundled corpus. Offline."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.contract import Answer
from server.settings import Settings
from server.storage.sentence_vectors import SentenceVectorStore
from tests.configured import configured_layout
from tests.pdfs import make_pdf

# Where the article says the remains were found: "a former Japanese undersea mine", "the
# Chosei Mine" (either is the fact).
REMAINS_PLACE = r"undersea mine|Chosei Mine"

pytestmark = pytest.mark.e2e
QA_SETS = Path(__file__).parent / "qa"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for the module: the bundled corpus, ingested by the first question."""
    return tmp_path_factory.mktemp("e2e") / "store"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def ask_json(store: Path, question: str) -> Answer:
    code, out, _ = run("ask", question, "--json", "--store", str(store))
    assert code == 0
    return Answer.model_validate_json(out)


def assert_markers_have_citations(answer: Answer) -> None:
    numbers = {c.n for c in answer.citations}
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers <= numbers


def test_a_first_question_ingests_the_corpus_and_names_nara(store: Path) -> None:
    code, out, err = run("ask", "Where was the summit held?", "--store", str(store))
    assert code == 0
    assert "ingesting the bundled corpus" in err
    assert "Nara" in out and "[1]" in out and "Sources" in out


def test_answer_json_cites_the_passage_holding_the_fact(store: Path) -> None:
    answer = ask_json(store, "Where was the summit held?")
    assert answer.answered
    assert "Nara" in answer.answer
    assert_markers_have_citations(answer)
    assert any("Nara" in c.text and f"[{c.n}]" in answer.answer for c in answer.citations)
    assert answer.citations[0].title and answer.citations[0].section


def test_an_off_topic_question_is_refused_with_closest_passages(store: Path) -> None:
    answer = ask_json(store, "What is the tallest mountain in Africa?")
    assert not answer.answered
    assert "do not answer" in answer.answer
    assert answer.citations and "[" not in answer.answer


def test_every_off_topic_question_of_both_sets_is_refused(store: Path) -> None:
    questions = [
        json.loads(line)["question"]
        for name in ("dev.jsonl", "heldout.jsonl")
        for line in (QA_SETS / name).read_text().splitlines()
        if json.loads(line)["kind"] == "off_topic"
    ]
    code, out, _ = run("ask", "--json", "--store", str(store), stdin="\n".join(questions))
    answers = [Answer.model_validate_json(line) for line in out.splitlines()]
    assert code == 0 and len(answers) == len(questions)
    assert not any(a.answered for a in answers)


def test_questions_from_stdin_give_one_json_line_each(store: Path) -> None:
    code, out, _ = run(
        "ask",
        "--json",
        "--store",
        str(store),
        stdin="Where were the remains found?\n\n"
        "What could impact the political landscape in Japan?\n",
    )
    answers = [Answer.model_validate_json(line) for line in out.splitlines()]
    assert code == 0
    assert re.search(REMAINS_PLACE, answers[0].answer)
    assert "snap election" in answers[1].answer
    for answer in answers:
        assert_markers_have_citations(answer)


def test_search_json_lists_passages_best_first(store: Path) -> None:
    code, out, _ = run(
        "search", "DNA analysis of remains", "--k", "3", "--json", "--store", str(store)
    )
    response = json.loads(out)
    scores = [r["score"] for r in response["results"]]
    assert code == 0 and len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert "DNA analysis" in response["results"][0]["text"]


def test_status_reports_the_store(store: Path) -> None:
    code, out, _ = run("status", "--json", "--store", str(store))
    assert code == 0
    assert json.loads(out) == {
        "documents": 1,
        "chunks": json.loads(out)["chunks"],
        "store": str(store),
        "embedding_model": "all-MiniLM-L6-v2",
    }
    assert json.loads(out)["chunks"] >= 4


def test_chat_answers_a_follow_up_in_context(store: Path) -> None:
    code, out, _ = run(
        "chat",
        "--store",
        str(store),
        stdin="Where were the remains found?\nWhat kind of analysis is planned on them?\n",
    )
    assert code == 0
    follow_up = out.split("you> ")[2]
    assert "DNA analysis" in follow_up


def test_an_empty_question_is_one_line_on_stderr(store: Path) -> None:
    code, out, err = run("ask", "   ", "--store", str(store))
    assert code == 1 and out == ""
    assert err.strip() == "error: The question is empty: ask something about the documents."


def test_ingest_twice_keeps_the_count_and_reports_a_corrupt_pdf(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "statement.md").write_text(
        "# Joint statement\n\nThe two leaders will meet again in Seoul.\n"
    )
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (docs / "good.pdf").write_bytes(make_pdf(["The ministers signed a fisheries accord."]))
    store = tmp_path / "own-store"
    first = json.loads(run("ingest", str(docs), "--json", "--store", str(store))[1])
    second = json.loads(run("ingest", str(docs), "--json", "--store", str(store))[1])
    assert (first["added"], first["chunks"]) == (2, 2)
    assert [Path(s["path"]).name for s in first["skipped"]] == ["broken.pdf"]
    assert (second["added"], second["unchanged"], second["chunks"]) == (0, 2, 2)
    (docs / "statement.md").write_text("# Joint statement\n\nThe leaders will meet in Tokyo.\n")
    third = json.loads(run("ingest", str(docs), "--json", "--store", str(store))[1])
    assert (third["updated"], third["chunks"]) == (1, 2)
    code, out, _ = run("search", "Tokyo", "--json", "--k", "1", "--store", str(store))
    assert code == 0
    assert "Tokyo" in json.loads(out)["results"][0]["text"]


def test_ingest_names_files_with_brackets_as_they_are(tmp_path: Path) -> None:
    docs, store = tmp_path / "docs", str(tmp_path / "own-store")
    docs.mkdir()
    (docs / "report[2024].md").write_text("# Report\n\nThe ministers met in Nara.\n")
    (docs / "draft[v2].md").write_text("")
    code, out, _ = run("ingest", str(docs), "--store", store)
    assert code == 0 and out.startswith("Documents: 1 added")
    assert f"skipped {docs / 'draft[v2].md'}: empty file" in out.splitlines()
    code, _, err = run("ingest", str(docs / "minutes[final].md"), "--store", store)
    assert code == 1 and err == f"error: No such file or folder: {docs / 'minutes[final].md'}\n"


def test_ingest_stores_sentence_vectors_when_asked_to(tmp_path: Path) -> None:
    docs, store = tmp_path / "docs", tmp_path / "own-store"
    docs.mkdir()
    sentences = ["The two leaders will meet again in Seoul.", "Fisheries were discussed."]
    (docs / "statement.md").write_text(f"# Joint statement\n\n{' '.join(sentences)}\n")
    assert run("ingest", str(docs), "--json", "--store", str(store))[0] == 0
    vectors = SentenceVectorStore.open(
        configured_layout(Settings.of(store=store)).sentence_vectors, 0
    )
    assert vectors is not None and vectors.missing(sentences) == sentences  # not by default
    code, out, _ = run("ingest", str(docs), "--sentence-vectors", "--json", "--store", str(store))
    assert code == 0 and json.loads(out)["unchanged"] == 1
    assert vectors.missing(sentences) == []  # the chunks stored before are filled in


def test_ingest_of_a_missing_path_fails_cleanly(tmp_path: Path) -> None:
    code, _, err = run("ingest", str(tmp_path / "nowhere"), "--store", str(tmp_path / "s"))
    assert code == 1 and err.startswith("error: No such file or folder")


def test_an_unusable_store_is_one_line_on_stderr(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    code, _, err = run("status", "--store", str(not_a_folder))
    assert code == 1 and err.startswith("error: The store path is a file")


def test_article_questions_meet_the_quality_floor(store: Path, tmp_path: Path) -> None:
    """A regression guard on questions written from the article, strictly scored. These
    sets are development data (earlier answerers were fitted on them, and the passages the
    span reader reads were chosen with them), so the floor guards against breakage, not for
    quality: docs/evaluation.md gives the figures and where they come from."""
    both = tmp_path / "article.jsonl"
    both.write_text(
        (QA_SETS / "heldout.jsonl").read_text() + (QA_SETS / "heldout2.jsonl").read_text()
    )
    code, out, _ = run("eval", "qa", str(both), "--json", "--store", str(store))
    report = json.loads(out)
    assert code == 0 and report["questions"] == 52 and report["answerable"] == 30
    assert report["right"]["share"] >= 0.7 and report["precision"]["share"] >= 0.9
    assert report["refusal_by_kind"]["off_topic"]["share"] == 1.0
    assert report["refusal_by_kind"]["near_miss"]["share"] >= 0.6
    assert report["risk_coverage"][0]["coverage"] == 1.0


def test_a_squad_folder_is_ingested_and_its_questions_scored(tmp_path: Path) -> None:
    """The SQuAD 2.0 layout (paragraphs.jsonl, questions.jsonl with is_impossible), as
    ../shared/data/squad_v2_train_split and its held-out articles have it."""
    folder = tmp_path / "squad"
    folder.mkdir()
    paragraphs = [
        {
            "_id": "Harbour#0",
            "title": "Harbour",
            "text": "The old harbour of Tollmere was "
            "dredged in 1884. Its lighthouse, built of granite, stands 31 metres tall.",
        },
        {
            "_id": "Orchard#0",
            "title": "Orchard",
            "text": "The orchard grows pears and "
            "quinces. It was planted by the monks of Aldbury in the twelfth century.",
        },
    ]
    questions = [
        {
            "id": "1",
            "question": "How tall is the lighthouse of Tollmere?",
            "gold_paragraph_id": "Harbour#0",
            "is_impossible": False,
            "answers": ["31 metres"],
        },
        {
            "id": "2",
            "question": "Who planted the orchard?",
            "gold_paragraph_id": "Orchard#0",
            "is_impossible": False,
            "answers": ["the monks of Aldbury", "monks of Aldbury"],
        },
        {
            "id": "3",
            "question": "Who painted the lighthouse red?",
            "gold_paragraph_id": "Harbour#0",
            "is_impossible": True,
            "answers": [],
        },
    ]
    for name, records in (("paragraphs", paragraphs), ("questions", questions)):
        (folder / f"{name}.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    store = tmp_path / "store"
    code, out, _ = run("eval", "qa", str(folder), "--json", "--store", str(store))
    report = json.loads(out)
    assert code == 0 and report["questions"] == 3 and report["answerable"] == 2
    assert report["refusal"]["total"] == 1
    assert report["right"]["count"] >= 1  # a question of this set is answered, strictly
    code, out, _ = run("status", "--json", "--store", str(store))
    assert json.loads(out)["documents"] == 2  # its paragraphs, ingested


def test_a_bad_setting_is_one_line_on_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMIT_CHUNK_TOKENS", "many")
    code, out, err = run("status")
    assert code == 2 and out == ""
    assert err.startswith("error: invalid setting (chunk_tokens:") and err.count("\n") == 1


def test_a_model_backend_without_a_model_name_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMIT_LLM", "openai")
    code, _, err = run("ask", "Where was the summit held?")
    assert code == 2 and err.count("\n") == 1
    assert "SUMMIT_LLM=openai needs SUMMIT_LLM_MODEL" in err


def test_asked_as_of_a_day_undated_documents_still_answer(store: Path) -> None:
    """The bundled article has no date: a question asked as of a day still reads it."""
    code, out, _ = run(
        "ask",
        "--as-of",
        "2025-11-14",
        "Where was the summit held?",
        "--json",
        "--store",
        str(store),
    )
    assert code == 0
    answer = Answer.model_validate_json(out)
    assert answer.answered and answer.short_answer is not None and "Nara" in answer.short_answer


def test_a_day_that_is_not_a_date_is_a_clear_error() -> None:
    code, _, err = run("ask", "--as-of", "last week", "Where?")
    assert code == 2 and "--as-of" in err and "Traceback" not in err


def test_a_missing_model_backend_names_the_extra_to_install(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)  # import langchain_openai fails
    monkeypatch.setenv("SUMMIT_LLM", "openai")
    monkeypatch.setenv("SUMMIT_LLM_MODEL", "any-model")
    code, out, err = run("ask", "Where was the summit held?", "--store", str(store))
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == (
        "error: SUMMIT_LLM=openai needs the langchain-openai package: "
        "pip install 'summit-assistant[openai]'"
    )


def test_an_unexpected_failure_is_one_line_without_a_traceback(tmp_path: Path) -> None:
    """A bug (here a RuntimeError planted in the core) reaches the user as one line."""
    planted = (
        "import sys, server.components as core\n"
        "def boom(settings): raise RuntimeError('planted [fault]')\n"
        "core.store_status = boom\n"
        "from server.cli import main\n"
        "sys.argv = ['summit', 'status', '--store', sys.argv[1]]\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SUMMIT_DEBUG"}
    run = subprocess.run(
        [sys.executable, "-c", planted, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        "error: unexpected RuntimeError: planted [fault] (SUMMIT_DEBUG=1 shows the traceback; "
        "please report it)"
    ]
