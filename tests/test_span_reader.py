"""The shipped span reader as answers use it: it points at the words that answer, reads many
passages and long ones, gives the same figures whether a passage is read in one run or
several, and fails with a clear error, never a wrong answer, when its files are damaged."""

import json
import shutil
from pathlib import Path

import pytest

from server.answers.span_reader import (
    GRAPH,
    MANIFEST,
    TOKENIZER,
    ReaderDamagedError,
    ReaderFiles,
    SpanReader,
)

SHIPPED = ReaderFiles.shipped()
QUESTION = "Where did the two leaders meet?"
PASSAGES = [
    "The weather was mild and the streets were quiet. Officials did not comment.",
    "The two leaders met in Geneva on Saturday. They talked for three hours.",
    "Talks on trade went well, officials said, and both sides will meet again.",
]


@pytest.fixture(scope="module")
def reader() -> SpanReader:
    return SpanReader()


def _text(passages: list[str], reading: object) -> str:
    return passages[reading.passage][reading.start : reading.end]  # type: ignore[attr-defined]


def test_the_shipped_reader_points_at_the_answer_among_passages_that_do_not_hold_it(
    reader: SpanReader,
) -> None:
    readings = reader.read(QUESTION, PASSAGES)
    best = max(readings, key=lambda r: r.margin)
    assert best.passage == 1 and _text(PASSAGES, best) == "Geneva"
    assert best.probability > 0.5
    # the passages without an answer are read as such
    assert all(r.probability < best.probability for r in readings if r.passage != 1)


def test_a_passage_that_does_not_answer_is_refused_by_the_shipped_threshold(
    reader: SpanReader,
) -> None:
    readings = reader.read("How many people attended the concert in Oslo?", PASSAGES)
    assert max(r.probability for r in readings) < reader.threshold


def test_an_answer_deep_in_a_long_passage_is_found_in_its_own_window(reader: SpanReader) -> None:
    filler = " ".join(f"Committee {n} met on day {n} and adjourned." for n in range(60))
    passage = filler + " The two leaders met in Geneva on Saturday."
    best = max(reader.read(QUESTION, [passage]), key=lambda r: r.margin)
    assert _text([passage], best) == "Geneva"


def test_a_question_longer_than_the_window_is_cut_not_an_error(reader: SpanReader) -> None:
    question = " ".join(["What did the prime minister say about the summit in Nara"] * 30) + "?"
    assert reader.read(question, ["The summit was held in Nara."])


def test_a_passage_read_alone_or_with_others_has_its_answer_in_the_same_place(
    reader: SpanReader,
) -> None:
    alone = max(reader.read(QUESTION, PASSAGES[1:2]), key=lambda r: r.margin)
    among = max(reader.read(QUESTION, PASSAGES), key=lambda r: r.margin)
    assert (alone.start, alone.end) == (among.start, among.end)


@pytest.mark.parametrize("damaged", [GRAPH, TOKENIZER])
def test_a_damaged_reader_file_is_a_clear_error(tmp_path: Path, damaged: str) -> None:
    for name in (MANIFEST, GRAPH, TOKENIZER):
        shutil.copyfile(SHIPPED.folder / name, tmp_path / name)
    with (tmp_path / damaged).open("r+b") as file:
        file.seek(1000)
        byte = file.read(1)
        file.seek(1000)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ReaderDamagedError, match=f"{damaged} does not match its checksum"):
        SpanReader(ReaderFiles(tmp_path))


def test_a_missing_reader_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderDamagedError, match=r"span_reader\.json is missing or unreadable"):
        SpanReader(ReaderFiles(tmp_path))


def test_a_manifest_without_a_threshold_is_a_clear_error(tmp_path: Path) -> None:
    for name in (GRAPH, TOKENIZER):
        shutil.copyfile(SHIPPED.folder / name, tmp_path / name)
    manifest = json.loads((SHIPPED.folder / MANIFEST).read_text())
    del manifest["threshold"]
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ReaderDamagedError, match="no threshold"):
        SpanReader(ReaderFiles(tmp_path))


def test_the_shipped_graph_is_small_and_its_figures_are_recorded() -> None:
    manifest = SHIPPED.manifest()
    assert (SHIPPED.folder / GRAPH).stat().st_size <= 30 * 2**20
    assert 0 < manifest["threshold"] < 1
    assert manifest["validation"]["onnx_int8"]["answerable"] > 0
