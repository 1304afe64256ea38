"""A user's JSON-lines file: read record by record, every fault named by file and line."""

from pathlib import Path

import pytest

from server.errors import SummitError
from server.evaluation.jsonl import json_objects


def test_objects_come_with_their_line_numbers_and_blank_lines_are_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"a": 1}\n\n  \n{"b": 2}\n', encoding="utf-8")
    assert list(json_objects(path, "question set", "question")) == [(1, {"a": 1}), (4, {"b": 2})]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"a": 1}\n{"b": \n', "set.jsonl:2: not a JSON record."),
        ('{"a": 1}\n[1, 2]\n', "set.jsonl:2: not a query record."),
        (b"\xff\xfe{}", "Cannot read the queries"),
    ],
)
def test_a_fault_names_the_file_and_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "set.jsonl"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(SummitError, match=message.replace(".", r"\.")):
        list(json_objects(path, "queries", "query"))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SummitError, match="Cannot read the question set"):
        list(json_objects(tmp_path / "absent.jsonl", "question set", "question"))


def test_a_bad_question_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    from server.evaluation.question_sets import load_question_set

    path = tmp_path / "set.jsonl"
    good = '{"question": "Where?", "answers": ["Nara"], "answerable": true}'
    path.write_text(f'{good}\n\n{{"answers": 3}}\n', encoding="utf-8")
    with pytest.raises(SummitError, match=r"set\.jsonl:3: not a question record\."):
        load_question_set(path)
