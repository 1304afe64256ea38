"""What the span reader reads: `[CLS] question [SEP] part of a passage [SEP]`, as word pieces.

A passage longer than the window is read in overlapping windows, so that a short answer near
a window's edge lies whole inside one of them. Each window records which pieces belong to
the passage and where each lies in the passage's text, so a span of pieces maps back to the
passage's own characters. The `[CLS]` position (index 0) is where the reader points when the
window holds no answer. Uses the `tokenizers` library only: the training script and the
served reader build their windows with this one module.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # loaded with the reader, not by commands that answer nothing
    from tokenizers import Encoding, Tokenizer

# Question and passage together, with the three special pieces: a chunk of the default 160
# pieces and its question fit in one window.
WINDOW_PIECES = 192
QUESTION_PIECES = 64  # a longer question is cut (the passage needs the room)
# Of a longer one, its opening (what a conversation is about) and its end (the newest
# question of a follow-up joined to the ones before; the point of a long question).
QUESTION_OPENING_PIECES = 16
OVERLAP_PIECES = 64  # pieces repeated between neighbouring windows of one passage


@dataclass(frozen=True)
class Window:
    """One window of one passage: its pieces, and where the passage's pieces sit in it."""

    passage: int  # index of the passage among those read
    ids: list[int]
    context_start: int  # position of the window's first passage piece
    offsets: list[tuple[int, int]]  # characters of each passage piece in the passage


@dataclass(frozen=True)
class Batch:
    input_ids: np.ndarray  # int64 [windows, pieces]
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    context_mask: np.ndarray  # bool: the piece belongs to the passage (may start a span)


def load_tokenizer(path: Path) -> "Tokenizer":
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def windows_for(tokenizer: "Tokenizer", question: str, passages: list[str]) -> list[Window]:
    """Every window of every passage, read with the question, in passage order."""
    cls, sep = _special(tokenizer, "[CLS]"), _special(tokenizer, "[SEP]")
    asked = _cut(tokenizer.encode(question, add_special_tokens=False).ids)
    head = [cls, *asked, sep]
    room = WINDOW_PIECES - len(head) - 1
    encoded: list[Encoding] = tokenizer.encode_batch(passages, add_special_tokens=False)
    windows = []
    for index, passage in enumerate(encoded):
        for start in window_starts(len(passage.ids), room):
            end = start + room
            ids = [*head, *passage.ids[start:end], sep]
            windows.append(Window(index, ids, len(head), list(passage.offsets[start:end])))
    return windows


def _cut(asked: list[int]) -> list[int]:
    if len(asked) <= QUESTION_PIECES:
        return asked
    return asked[:QUESTION_OPENING_PIECES] + asked[QUESTION_OPENING_PIECES - QUESTION_PIECES :]


def _special(tokenizer: "Tokenizer", token: str) -> int:
    found = tokenizer.token_to_id(token)
    if found is None:
        raise ValueError(f"the reader's tokenizer has no {token} token")
    return int(found)


def window_starts(pieces: int, room: int) -> list[int]:
    """First piece of each window: every `room - OVERLAP_PIECES`, the last one flush with
    the end, so no window is mostly a repeat of the one before."""
    if pieces <= room:
        return [0]
    step = room - OVERLAP_PIECES
    starts = list(range(0, pieces - room, step))
    return [*starts, pieces - room]


def batch_of(windows: list[Window]) -> Batch:
    """The windows padded to the longest of them."""
    width = max(len(w.ids) for w in windows)
    ids = np.zeros((len(windows), width), dtype=np.int64)
    attention = np.zeros_like(ids)
    types = np.zeros_like(ids)
    context = np.zeros(ids.shape, dtype=bool)
    for row, window in enumerate(windows):
        ids[row, : len(window.ids)] = window.ids
        attention[row, : len(window.ids)] = 1
        types[row, window.context_start : len(window.ids)] = 1
        context[row, window.context_start : window.context_start + len(window.offsets)] = True
    return Batch(ids, attention, types, context)


def pieces_of_span(window: Window, start_char: int, end_char: int) -> tuple[int, int] | None:
    """Positions (in the window) of the first and last piece of a character span of the
    passage, or None when the span is not wholly inside the window."""
    first = next((n for n, (_, e) in enumerate(window.offsets) if e > start_char), None)
    last = next(
        (n for n in range(len(window.offsets) - 1, -1, -1) if window.offsets[n][0] < end_char),
        None,
    )
    if first is None or last is None or last < first:
        return None
    if window.offsets[first][0] > start_char or window.offsets[last][1] < end_char:
        return None  # the span begins before the window or ends after it
    return window.context_start + first, window.context_start + last
