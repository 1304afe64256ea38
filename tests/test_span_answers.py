"""The span reader's parts that need no model, and the answer composed from its readings:
windows over long passages, spans out of scores, readings merged into candidates, and the
answer (short answer, quoted sentence, citations, refusal, values side by side), with a
scripted reader standing in for the model."""

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from server.answers.candidates import ReadPassage
from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer
from server.answers.span_reader import TOKENIZER, ReaderFiles, SpanReading
from server.answers.spans import MAX_ANSWER_PIECES, best_spans
from server.answers.windows import (
    OVERLAP_PIECES,
    WINDOW_PIECES,
    batch_of,
    load_tokenizer,
    pieces_of_span,
    window_starts,
    windows_for,
)
from server.base.documents import Chunk
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval

PROMPTS = PromptLibrary(Path(__file__).parent.parent / "prompts")
TOKENIZER_PATH = ReaderFiles.shipped().folder / TOKENIZER


@pytest.fixture(scope="module")
def tokenizer():  # type: ignore[no-untyped-def]
    return load_tokenizer(TOKENIZER_PATH)


# --- windows ---------------------------------------------------------------------------------


def test_a_short_passage_is_one_window_of_question_and_passage(tokenizer) -> None:  # type: ignore[no-untyped-def]
    windows = windows_for(tokenizer, "Where did they meet?", ["They met in Nara."])
    assert len(windows) == 1
    ids = windows[0].ids
    assert ids[0] == tokenizer.token_to_id("[CLS]") and ids[-1] == tokenizer.token_to_id("[SEP]")
    assert ids[windows[0].context_start - 1] == tokenizer.token_to_id("[SEP]")
    assert len(windows[0].offsets) == len(ids) - windows[0].context_start - 1


def test_a_long_passage_is_read_in_overlapping_windows_that_cover_it(tokenizer) -> None:  # type: ignore[no-untyped-def]
    passage = " ".join(f"Sentence number {n} says something about item {n}." for n in range(80))
    windows = windows_for(tokenizer, "What about item 79?", [passage])
    assert len(windows) > 2
    assert all(len(w.ids) <= WINDOW_PIECES for w in windows)
    covered = {o for w in windows for o in w.offsets}
    pieces = tokenizer.encode(passage, add_special_tokens=False).offsets
    assert covered == set(pieces)
    # neighbours share OVERLAP_PIECES pieces, so a short answer lies whole in one of them
    assert len(set(windows[0].offsets) & set(windows[1].offsets)) == OVERLAP_PIECES
    start = passage.index("item 79")
    assert any(pieces_of_span(w, start, start + len("item 79")) for w in windows)


def test_window_starts_end_flush_with_the_passage() -> None:
    assert window_starts(100, 150) == [0]
    starts = window_starts(400, 150)
    assert starts[0] == 0 and starts[-1] == 250
    assert all(b - a <= 150 - OVERLAP_PIECES for a, b in pairwise(starts))


def test_a_span_outside_the_window_has_no_pieces(tokenizer) -> None:  # type: ignore[no-untyped-def]
    passage = "Alpha beta gamma. " * 150 + "The answer is Nara."
    first = windows_for(tokenizer, "Where?", [passage])[0]
    start = passage.index("Nara")
    assert pieces_of_span(first, start, start + 4) is None


def test_a_question_longer_than_the_window_is_cut_not_an_error(tokenizer) -> None:  # type: ignore[no-untyped-def]
    windows = windows_for(tokenizer, "why " * 500, ["They met in Nara."])
    assert len(windows) == 1 and len(windows[0].ids) < WINDOW_PIECES
    assert batch_of(windows).input_ids.shape == (1, len(windows[0].ids))


def test_a_long_follow_up_keeps_its_opening_and_the_newest_question(tokenizer) -> None:  # type: ignore[no-untyped-def]
    joined = "Where did Lee and Takaichi meet " + "and talk " * 40 + "what about defense?"
    [window] = windows_for(tokenizer, joined, ["They met in Nara."])
    read = tokenizer.decode(window.ids[1 : window.context_start - 1])
    assert read.startswith("where did lee and takaichi meet")
    assert read.endswith("what about defense?")


def test_a_batch_pads_and_marks_the_passage_pieces(tokenizer) -> None:  # type: ignore[no-untyped-def]
    windows = windows_for(tokenizer, "Where?", ["Nara.", "They met in the old capital Nara."])
    batch = batch_of(windows)
    assert batch.input_ids.shape[0] == 2
    assert batch.attention_mask[0].sum() == len(windows[0].ids)
    assert batch.context_mask[1].sum() == len(windows[1].offsets)
    assert not batch.context_mask[:, 0].any()  # [CLS] is no answer, never a span


# --- spans -----------------------------------------------------------------------------------


def test_the_best_span_starts_before_it_ends_and_keeps_its_windows_no_answer_score() -> None:
    start = np.array([[2.0, 0.0, 5.0, 0.0, 1.0]])
    end = np.array([[1.0, 4.0, 0.0, 0.0, 3.0]])
    context = np.array([[False, True, True, True, True]])
    spans = best_spans(start, end, context)
    best = spans[0]
    # start 2 (5.0) cannot end at 1 (4.0), which lies before it: it ends at 4 (3.0)
    assert (best.start, best.end, best.score) == (2, 4, 8.0)
    assert best.no_answer == 3.0
    assert [s.score for s in spans] == sorted((s.score for s in spans), reverse=True)


def test_a_span_longer_than_a_short_answer_is_not_taken() -> None:
    width = MAX_ANSWER_PIECES + 5
    start, end = np.zeros((1, width)), np.zeros((1, width))
    start[0, 1], end[0, width - 1] = 9.0, 9.0
    context = np.ones((1, width), dtype=bool)
    context[0, 0] = False
    assert all(s.end - s.start < MAX_ANSWER_PIECES for s in best_spans(start, end, context))


# --- the answer ------------------------------------------------------------------------------


class ScriptedReader:
    """Gives the readings it was told to, found by their text in the passages read."""

    threshold = 0.5

    def __init__(self, script: list[tuple[int, str, float]]) -> None:
        self.script = script  # (passage index, span text, margin)

    def read(self, question: str, passages: list[str]) -> list[SpanReading]:
        found = []
        for passage, span, margin in self.script:
            start = passages[passage].index(span)
            found.append(SpanReading(passage, start, start + len(span), margin, 0.0))
        return sorted(found, key=lambda r: -r.score)


def _answer(
    question: str,
    docs: list[tuple[str, str]],
    script: list[tuple[int, str, float]],
    threshold: float | None = None,
    max_sentences: int = 3,
):  # type: ignore[no-untyped-def]
    passages = [
        Passage(Chunk(f"c{n}", doc, f"{doc}.md", doc.title(), None, None, 0, text, {}), 1.0, None)
        for n, (doc, text) in enumerate(docs)
    ]
    answerer = ExtractiveAnswerer(
        PROMPTS, AnswerPolicy(5, max_sentences, threshold), reader=lambda: ScriptedReader(script)
    )
    return answerer.answer(question, question, Retrieval(passages))


def test_the_answer_is_the_span_and_quotes_the_sentence_that_holds_it() -> None:
    answer = _answer(
        "Where did the leaders meet?",
        [("a", "Talks were long. The leaders met in Nara on Saturday. Both spoke later.")],
        [(0, "Nara", 3.0)],
    )
    assert answer.answered and answer.short_answer == "Nara"
    assert answer.answer.endswith("The leaders met in Nara on Saturday. [1]")
    assert [c.doc_id for c in answer.citations] == ["a"]
    assert answer.confidence == pytest.approx(0.9526, abs=1e-4)


def test_below_the_threshold_it_says_the_documents_do_not_hold_the_answer() -> None:
    answer = _answer(
        "Where did the leaders meet?",
        [("a", "The leaders met in Nara."), ("b", "Rain fell.")],
        [(0, "Nara", -1.0)],
    )
    assert not answer.answered and answer.short_answer is None
    assert answer.answer == PROMPTS.render("no_answer")
    assert [c.doc_id for c in answer.citations] == ["a", "b"]  # the closest passages
    assert answer.confidence == pytest.approx(0.2689, abs=1e-4)


def test_another_document_stating_the_same_span_is_quoted_and_cited_too() -> None:
    answer = _answer(
        "Where did the leaders meet?",
        [
            ("a", "The leaders met in Nara."),
            ("a", "Lunch was served in Nara."),  # the same document: cited once
            ("b", "Nara hosted the two leaders."),
            ("c", "Reporters waited outside."),
        ],
        [(0, "Nara", 4.0), (1, "Nara", 3.5), (2, "Nara", 2.0), (3, "outside", 0.5)],
    )
    assert answer.short_answer == "Nara"
    assert [c.doc_id for c in answer.citations] == ["a", "b"]
    assert "The leaders met in Nara. [1]" in answer.answer
    assert "Nara hosted the two leaders. [2]" in answer.answer


def test_overlapping_readings_of_one_passage_are_one_answer() -> None:
    answer = _answer(
        "Where did the leaders meet?",
        [("a", "The leaders met in Nara, Japan.")],
        [(0, "Nara", 3.0), (0, "Nara, Japan", 2.5), (0, "Japan", 2.0)],
    )
    assert answer.short_answer == "Nara"
    assert answer.answer.count("[1]") == 1


def test_documents_stating_different_figures_are_shown_side_by_side() -> None:
    docs = [
        ("a", "At least 12 people were injured in the fire, police said."),
        ("b", "The fire injured 19 people, according to local media."),
    ]
    script = [(0, "12", 3.0), (1, "19", 2.6)]
    answer = _answer("How many people were injured in the fire?", docs, script, max_sentences=1)
    assert answer.short_answer == "12 [1]; 19 [2]"
    assert [c.doc_id for c in answer.citations] == ["a", "b"]
    # not for a question that asks no figure, date or person, nor for a distant runner-up
    assert _answer("What happened in the fire?", docs, script).short_answer == "12"
    far = [(0, "12", 3.0), (1, "19", 1.0)]
    assert _answer("How many were injured?", docs, far).short_answer == "12"


def test_a_value_holding_the_best_one_is_not_a_disagreement() -> None:
    docs = [("a", "The leaders met in Nara."), ("b", "They met in Nara, Japan.")]
    answer = _answer(
        "Who met in Nara, and when?", docs, [(0, "Nara", 3.0), (1, "Nara, Japan", 2.8)]
    )
    assert answer.short_answer == "Nara"


def test_an_answer_at_the_served_threshold_is_the_answer_at_zero_or_a_refusal() -> None:
    """What the evaluation relies on to score every threshold from one run."""
    docs = [("a", "The leaders met in Nara.")]
    for margin in (-2.0, 0.0, 0.0001, 2.0):
        question = "Where did the leaders meet?"
        everything = _answer(question, docs, [(0, "Nara", margin)], threshold=0.0)
        served = _answer(question, docs, [(0, "Nara", margin)])
        assert everything.answered and everything.confidence is not None
        if everything.confidence >= 0.5:
            assert served == everything
        else:
            assert not served.answered


def test_a_question_of_stop_words_alone_is_refused_before_any_reading() -> None:
    answer = _answer("What is it?", [("a", "The leaders met in Nara.")], [(0, "Nara", 9.0)], 0.0)
    assert not answer.answered and answer.confidence is None


def test_the_sentence_of_a_span_is_found_in_the_passage_as_read() -> None:
    chunk = Chunk(
        "c", "d", "d.md", None, None, None, 0, "First one.\n\nSecond  one is here. Third.", {}
    )
    read = ReadPassage.of(Passage(chunk, 1.0, None))
    assert read.text == "First one. Second one is here. Third."
    start = read.text.index("here")
    assert read.sentence_at(start, start + 4) == "Second one is here."
    assert read.sentence_at(0, read.text.index("Third") + 2) == read.text
