"""`summit documents list|show|remove` through typer's runner, over a real store filled by
`summit ingest` (the real model): what is listed and shown, filters, a removal that takes the
passages out of search, and one-line errors."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app

pytestmark = pytest.mark.e2e


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def store(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ferry.md").write_text(
        "---\ntitle: Ferry to Jeju resumes\noutlet: Harbour News\ndate: 2026-11-02\n---\n\n"
        "The ferry to Jeju resumed on Friday after the storm.\n"
    )
    (docs / "bridge.md").write_text(
        "---\ntitle: Bridge to Geoje opens\ndate: 2026-10-01\n---\n\nThe bridge to Geoje opened.\n"
    )
    store = tmp_path / "store"
    assert run("ingest", str(docs), "--store", str(store))[0] == 0
    return store


def test_documents_are_listed_filtered_shown_and_removed(store: Path) -> None:
    code, out, _ = run("documents", "list", "--store", str(store), "--json")
    listed = json.loads(out)
    assert code == 0 and listed["total"] == 2
    assert all(d["added"] and d["chunks"] == 1 for d in listed["documents"])

    code, out, _ = run("documents", "list", "--title", "ferry", "--store", str(store), "--json")
    [ferry] = json.loads(out)["documents"]
    assert (ferry["title"], ferry["outlet"]) == ("Ferry to Jeju resumes", "Harbour News")
    since = run("documents", "list", "--since", "2026-10-15", "--store", str(store), "--json")
    assert [d["id"] for d in json.loads(since[1])["documents"]] == [ferry["id"]]

    code, out, _ = run("documents", "show", ferry["id"], "--store", str(store))
    assert code == 0 and "The ferry to Jeju resumed" in out and "Harbour News" in out

    assert run("documents", "remove", ferry["id"], "--store", str(store))[0] == 0
    _, out, _ = run("documents", "list", "--store", str(store), "--json")
    assert [d["title"] for d in json.loads(out)["documents"]] == ["Bridge to Geoje opens"]
    _, out, _ = run("search", "ferry to Jeju", "--store", str(store), "--json")
    assert "ferry.md" not in out


def test_an_unknown_document_is_one_line_and_exit_1(store: Path) -> None:
    for command in ("show", "remove"):
        code, out, err = run("documents", command, "no-such-doc", "--store", str(store))
        assert code == 1 and out == ""
        assert err.strip().count("\n") == 0 and "No document 'no-such-doc'" in err
