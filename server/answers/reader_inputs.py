"""What the reader reads: a candidate sentence and its document's title, as word pieces,
with where the sentence's pieces lie (only they may hold the short answer).

The sentence comes first, so that when the pair is too long for the model, truncation
cuts the title before the sentence (a question that alone fills them is cut too).
Neighbouring sentences are not read: a window
holding them holds its neighbour's answer too, and a reader trained so put the answer
sentence of the gold paragraph first for only 549 of 800 validation questions (README,
"A trained reader"). Uses the `tokenizers` library only.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # loaded with the reader, not by commands that answer nothing
    from tokenizers import Encoding, Tokenizer

MAX_TOKENS = 128  # word pieces of question and window together
TITLE_SEPARATOR = " [SEP] "  # the tokenizer reads it as its separator token


@dataclass(frozen=True)
class Window:
    """A candidate sentence and the title of the document it comes from."""

    sentence: str
    title: str = ""

    def text(self) -> str:
        """The second segment of the reader's pair: the sentence, then the title."""
        return self.sentence + (TITLE_SEPARATOR + self.title if self.title else "")


def windows_of(sentences: list[str], title: str = "") -> list[Window]:
    """The sentences of one passage as the reader reads them."""
    return [Window(sentence, title) for sentence in sentences]


@dataclass(frozen=True)
class EncodedPairs:
    input_ids: np.ndarray  # int64 [pairs, pieces]
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    sentence_mask: np.ndarray  # bool: the piece belongs to the candidate sentence
    offsets: list[list[tuple[int, int]]]  # each piece's characters in the window text


def load_tokenizer(path: Path) -> "Tokenizer":
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # longest_first: a question that alone fills the pieces is cut too (only_second raises)
    tokenizer.enable_truncation(MAX_TOKENS, strategy="longest_first")
    tokenizer.enable_padding()
    return tokenizer


def encode_pairs(
    tokenizer: "Tokenizer", questions: list[str], windows: list[Window]
) -> EncodedPairs:
    """One (question, window) pair a row, padded to the longest."""
    encodings = tokenizer.encode_batch(
        [(q, w.text()) for q, w in zip(questions, windows, strict=True)]
    )
    return EncodedPairs(
        input_ids=np.array([e.ids for e in encodings], dtype=np.int64),
        attention_mask=np.array([e.attention_mask for e in encodings], dtype=np.int64),
        token_type_ids=np.array([e.type_ids for e in encodings], dtype=np.int64),
        sentence_mask=np.array(
            [_sentence_pieces(e, len(w.sentence)) for e, w in zip(encodings, windows, strict=True)]
        ),
        offsets=[list(e.offsets) for e in encodings],
    )


def _sentence_pieces(encoding: "Encoding", sentence_chars: int) -> list[bool]:
    return [
        sequence == 1 and end <= sentence_chars and end > start
        for sequence, (start, end) in zip(encoding.sequence_ids, encoding.offsets, strict=True)
    ]


def span_pieces(encoded: EncodedPairs, row: int, start: int, end: int) -> tuple[int, int] | None:
    """The first and last piece of the characters [start, end) of row's sentence."""
    first = last = None
    for piece, (a, b) in enumerate(encoded.offsets[row]):
        if not encoded.sentence_mask[row, piece]:
            continue
        if first is None and a <= start < b:
            first = piece
        if a < end <= b:
            last = piece
    if first is None or last is None or last < first:
        return None
    return first, last
