"""Spans out of the span reader's scores: the best few of each window, and the window's
no-answer score.

A span's score is its start piece's score plus its end piece's, raw (no softmax per window),
so spans of different windows and passages compare; the no-answer score is the same sum at
`[CLS]`. Numpy only: the training script's validation decodes with this module too.
"""

from dataclasses import dataclass

import numpy as np

MAX_ANSWER_PIECES = 30  # a longer span is not a short answer
SPANS_PER_WINDOW = 3


@dataclass(frozen=True)
class ScoredSpan:
    window: int
    start: int  # positions of its first and last piece in the window
    end: int
    score: float
    no_answer: float  # the window's own [CLS] score


def best_spans(
    start_scores: np.ndarray,
    end_scores: np.ndarray,
    context_mask: np.ndarray,
    per_window: int = SPANS_PER_WINDOW,
) -> list[ScoredSpan]:
    """The best spans of every window (start ≤ end, both in the passage, at most
    MAX_ANSWER_PIECES long), best first."""
    found = []
    for row in range(start_scores.shape[0]):
        inside = np.flatnonzero(context_mask[row])
        if inside.size == 0:
            continue
        starts, ends = start_scores[row, inside], end_scores[row, inside]
        pairs = starts[:, None] + ends[None, :]
        gap = np.arange(inside.size)[None, :] - np.arange(inside.size)[:, None]
        pairs = np.where((gap >= 0) & (gap < MAX_ANSWER_PIECES), pairs, -np.inf)
        flat = np.argsort(pairs, axis=None)[::-1][:per_window]
        no_answer = float(start_scores[row, 0] + end_scores[row, 0])
        for index in flat:
            first, last = np.unravel_index(index, pairs.shape)
            if np.isfinite(pairs[first, last]):
                found.append(
                    ScoredSpan(
                        row,
                        int(inside[first]),
                        int(inside[last]),
                        float(pairs[first, last]),
                        no_answer,
                    )
                )
    return sorted(found, key=lambda s: -s.score)
