"""`summit ask` and `summit search` refuse a bad question before anything loads: no model,
no store opened, no bundled article ingested into an empty store."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli.base import app


@pytest.mark.parametrize("command", ["ask", "search"])
def test_a_blank_question_is_refused_before_the_store_is_touched(
    command: str, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(app, [command, " \u200b ", "--store", str(store)])
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()  # one line, no traceback
    assert line.startswith("error: The question is empty")
    assert not store.exists()


def test_a_question_too_long_is_refused_before_the_store_is_touched(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = CliRunner().invoke(app, ["ask", "x" * 2001, "--store", str(store)])
    assert result.exit_code == 1 and "too long" in result.stderr
    assert not store.exists()
