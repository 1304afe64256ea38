"""The span reader: reads the question with each passage and points at the words that answer
it, or at `[CLS]` when the passage holds no answer.

all-MiniLM-L6-v2 (the shipped embedding model) with a start/end head, trained on SQuAD 1.1,
SQuAD 2.0's unanswerable questions and hard negatives (tools/training/train_span_reader.py);
shipped as an int8 ONNX graph with its tokenizer and run by onnxruntime, so answering imports
no torch. Both files are checked against the SHA-256 sums of span_reader.json when loaded: a
damaged or replaced file is named, never read.
"""

import hashlib
import json
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from server.answers.spans import best_spans
from server.answers.windows import Window, batch_of, load_tokenizer, windows_for
from server.errors import SummitError

MANIFEST, GRAPH, TOKENIZER = "span_reader.json", "span_reader.onnx", "span_reader_tokenizer.json"
WINDOWS_PER_RUN = 16  # windows read in one run of the graph


class ReaderDamagedError(SummitError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The answer reader's file {path} {problem}: reinstall summit-assistant "
            "(or retrain it with tools/training/train_span_reader.py --write)."
        )


@dataclass(frozen=True)
class SpanReading:
    """A span of one passage the reader points at, in that passage's characters."""

    passage: int  # index among the passages read
    start: int
    end: int
    score: float  # start score plus end score: compares across passages
    no_answer: float  # the [CLS] score of the window it was read in

    @property
    def margin(self) -> float:
        """How far the span beats "no answer here" in its window (log-odds)."""
        return self.score - self.no_answer

    @property
    def probability(self) -> float:
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.margin))))


class PassageReader(Protocol):
    """What the answerer needs of a reader (tests give a deterministic stand-in)."""

    threshold: float  # the probability from which its best span is given, calibrated

    def read(self, question: str, passages: list[str]) -> list[SpanReading]: ...


@dataclass(frozen=True)
class ReaderFiles:
    """The folder holding the reader's graph, tokenizer and manifest."""

    folder: Path

    @classmethod
    def shipped(cls) -> "ReaderFiles":
        return cls(Path(str(resources.files("server.answers"))))

    def manifest(self) -> dict[str, Any]:
        path = self.folder / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReaderDamagedError(path, "is missing or unreadable") from exc
        if not isinstance(data, dict):
            raise ReaderDamagedError(path, "is not a reader manifest")
        return data

    def checked(self, name: str, expected: object) -> Path:
        """The file, once its SHA-256 is the manifest's."""
        path = self.folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ReaderDamagedError(path, "cannot be read") from exc
        if digest != expected:
            raise ReaderDamagedError(path, f"does not match its checksum in {MANIFEST}")
        return path


class SpanReader:
    """Reads passages in overlapping windows, a batch of windows a run; safe to share
    between threads (one run at a time, as the embedder's)."""

    def __init__(self, files: ReaderFiles | None = None) -> None:
        import onnxruntime

        files = files or ReaderFiles.shipped()
        manifest = files.manifest()
        self._tokenizer = load_tokenizer(files.checked(TOKENIZER, manifest.get("tokenizer_sha256")))
        graph = files.checked(GRAPH, manifest.get("graph_sha256"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self.threshold = _threshold(manifest)
        self._running = threading.Lock()

    def read(self, question: str, passages: list[str]) -> list[SpanReading]:
        """The best spans of every passage, best first."""
        windows = windows_for(self._tokenizer, question, passages)
        found: list[SpanReading] = []
        for first in range(0, len(windows), WINDOWS_PER_RUN):
            found += self._read_windows(windows[first : first + WINDOWS_PER_RUN])
        return sorted(found, key=lambda r: -r.score)

    def _read_windows(self, windows: list[Window]) -> list[SpanReading]:
        batch = batch_of(windows)
        with self._running:
            start, end = self._session.run(
                None,
                {
                    "input_ids": batch.input_ids,
                    "attention_mask": batch.attention_mask,
                    "token_type_ids": batch.token_type_ids,
                },
            )
        readings = []
        for span in best_spans(start, end, batch.context_mask):
            window = windows[span.window]
            first = window.offsets[span.start - window.context_start][0]
            last = window.offsets[span.end - window.context_start][1]
            readings.append(SpanReading(window.passage, first, last, span.score, span.no_answer))
        return readings


def _threshold(manifest: dict[str, Any]) -> float:
    """The calibrated threshold the manifest records."""
    value = manifest.get("threshold")
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ReaderDamagedError(Path(MANIFEST), "has no threshold between 0 and 1")
    return float(value)


@lru_cache(maxsize=1)
def shipped_reader() -> SpanReader:
    """The reader shipped with the package, loaded once per process."""
    return SpanReader()
