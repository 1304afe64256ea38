"""The trained reader's files and input: what it reads of a window, where the short answer
may lie, and a clear error, never a wrong answer, when its shipped files are damaged."""

import shutil
from pathlib import Path

import pytest

from server.answers.encoding import encode_pairs, load_tokenizer, span_pieces
from server.answers.reader import (
    GRAPH,
    MANIFEST,
    TOKENIZER,
    AnswerReader,
    ReaderDamagedError,
    ReaderFiles,
)
from server.answers.windows import MAX_TOKENS, Window, windows_of

SHIPPED = ReaderFiles.shipped()


def tokenizer():  # type: ignore[no-untyped-def]
    return load_tokenizer(SHIPPED.folder / TOKENIZER)


def test_a_window_holds_the_sentence_first_then_its_title() -> None:
    windows = windows_of(["First one.", "Second one."], "Title")
    assert [w.text() for w in windows] == ["First one. [SEP] Title", "Second one. [SEP] Title"]
    assert Window("Untitled.").text() == "Untitled."


def test_a_long_window_loses_its_title_never_its_sentence() -> None:
    sentence = "The summit was held in Nara on Saturday."
    window = Window(sentence, "Title " * 200)
    encoded = encode_pairs(tokenizer(), ["Where was the summit held?"], [window])
    assert encoded.input_ids.shape[1] == MAX_TOKENS
    pieces = [
        sentence[a:b]
        for (a, b), inside in zip(encoded.offsets[0], encoded.sentence_mask[0], strict=True)
        if inside
    ]
    assert "".join(pieces).replace(" ", "") == sentence.replace(" ", "")


def test_only_the_sentence_pieces_may_hold_the_short_answer() -> None:
    window = Window("Lee met Takaichi in Nara.", "Nara summit")
    encoded = encode_pairs(tokenizer(), ["Where did Lee meet Takaichi?"], [window])
    start = window.sentence.index("Nara")
    first, last = span_pieces(encoded, 0, start, start + 4) or (0, 0)
    assert window.sentence[encoded.offsets[0][first][0] : encoded.offsets[0][last][1]] == "Nara"
    # "Nara" of the title is outside the sentence
    title_nara = window.text().rindex("Nara")
    assert span_pieces(encoded, 0, title_nara, title_nara + 4) is None


def test_the_shipped_reader_reads_in_batches_and_finds_spans_inside_the_sentence() -> None:
    reader = AnswerReader(batch_size=2)
    windows = windows_of(
        ["The weather was mild.", "The leaders met in Nara on Saturday.", "Talks went well."],
        "Summit",
    )
    readings = reader.read("Where did the leaders meet?", windows)
    assert len(readings) == 3
    assert all(0.0 <= r.probability <= 1.0 for r in readings)
    for reading, window in zip(readings, windows, strict=True):
        assert reading.span is not None
        assert 0 <= reading.span[0] < reading.span[1] <= len(window.sentence)
    assert readings[1].probability == max(r.probability for r in readings)
    # read in one batch, with more padding, the figures are the same
    together = AnswerReader(batch_size=16).read("Where did the leaders meet?", windows)
    assert [r.span for r in together] == [r.span for r in readings]
    assert [r.probability for r in together] == pytest.approx(
        [r.probability for r in readings], abs=1e-4
    )


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
        AnswerReader(ReaderFiles(tmp_path))


def test_a_missing_reader_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReaderDamagedError, match=r"reader\.json is missing or unreadable"):
        AnswerReader(ReaderFiles(tmp_path))
