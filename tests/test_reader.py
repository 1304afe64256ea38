"""The trained reader as answers use it: what it reads of a candidate, that it reads in
batches with the same result, that its figures join the candidates' features, and a clear
error, never a wrong answer, when its shipped files are damaged."""

import shutil
from pathlib import Path

import pytest

from server.answers.features import Candidate, with_readings
from server.answers.reader import (
    GRAPH,
    MANIFEST,
    TOKENIZER,
    AnswerReader,
    ReaderDamagedError,
    ReaderFiles,
)
from server.answers.reader_inputs import MAX_TOKENS, Window, encode_pairs, load_tokenizer
from server.base.documents import Chunk
from server.retrieval.hybrid import Passage
from tests.fakes import FakeReader

SHIPPED = ReaderFiles.shipped()


def test_a_long_window_loses_its_title_never_its_sentence() -> None:
    sentence = "The summit was held in Nara on Saturday."
    window = Window(sentence, "Title " * 200)
    tokenizer = load_tokenizer(SHIPPED.folder / TOKENIZER)
    encoded = encode_pairs(tokenizer, ["Where was the summit held?"], [window])
    assert encoded.input_ids.shape[1] == MAX_TOKENS
    pieces = [
        sentence[a:b]
        for (a, b), inside in zip(encoded.offsets[0], encoded.sentence_mask[0], strict=True)
        if inside
    ]
    assert "".join(pieces).replace(" ", "") == sentence.replace(" ", "")


def test_the_shipped_reader_prefers_the_sentence_that_answers_whatever_else_it_reads() -> None:
    windows = [
        Window("The weather was mild and the streets were quiet.", "Summit"),
        Window("The leaders met in Nara on Saturday.", "Summit"),
        Window("Talks went well, officials said.", "Summit"),
    ]
    question = "Where did the leaders meet?"
    reader = AnswerReader()
    logits = reader.logits(question, windows)
    assert len(logits) == 3
    assert max(logits) == logits[1]
    # a sentence's figure is its own: read alone or among others, the same
    assert reader.logits(question, windows[1:2]) == pytest.approx(logits[1:2], abs=1e-5)


def test_readings_join_each_candidates_features_with_the_gap_to_the_best() -> None:
    chunk = Chunk("c0", "d", "d.md", "Harbour news", None, None, 0, "text", {})
    chosen = [
        Candidate(0, 0, "The harbour opened in 1884.", {"sentence_similarity": 0.5}),
        Candidate(0, 1, "Fishing boats still use it.", {"sentence_similarity": 0.4}),
    ]
    read = with_readings(
        "When did the harbour open?", chosen, FakeReader(), [Passage(chunk, 1.0, None)]
    )
    logits = [c.features["reader_logit"] for c in read]
    assert logits[0] > logits[1]
    assert [c.features["reader_gap"] for c in read] == pytest.approx([0.0, logits[1] - logits[0]])
    assert read[0].features["sentence_similarity"] == 0.5  # the others are kept
    assert with_readings("Anything?", [], FakeReader(), []) == []


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


def test_a_question_longer_than_the_reader_reads_is_cut_not_an_error() -> None:
    question = " ".join(["What did the prime minister say about the summit in Nara"] * 30) + "?"
    logits = AnswerReader().logits(question, [Window("The summit was held in Nara.", "Summit")])
    assert len(logits) == 1
