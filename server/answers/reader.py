"""The trained reader: reads a question with each candidate sentence (its window) and gives
the probability that the sentence answers it, and the short answer's span inside it.

all-MiniLM-L6-v2 fine-tuned as a cross-encoder with two heads on SQuAD 2.0, half of whose
questions have no answer (tests/tuning/train_reader.py); shipped as an int8 ONNX graph
with its tokenizer and run by onnxruntime, so answering imports no torch. The graph and the
tokenizer are checked against the SHA-256 sums of reader.json when loaded.
"""

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from server.answers.encoding import EncodedPairs, encode_pairs, load_tokenizer
from server.answers.windows import Window
from server.errors import SummitError

MANIFEST, GRAPH, TOKENIZER = "reader.json", "reader.onnx", "reader_tokenizer.json"
_MAX_SPAN_PIECES = 24  # a short answer is a name, a number, a phrase


@dataclass(frozen=True)
class Reading:
    probability: float  # that the sentence answers the question
    span: tuple[int, int] | None  # characters of the short answer in the sentence


@dataclass(frozen=True)
class ReaderFiles:
    folder: Path

    @classmethod
    def shipped(cls) -> "ReaderFiles":
        return cls(Path(str(resources.files("server.answers"))))

    def manifest(self) -> dict[str, Any]:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReaderDamagedError(self.folder / MANIFEST, "is missing or unreadable") from exc
        if not isinstance(data, dict):
            raise ReaderDamagedError(self.folder / MANIFEST, "is not a reader manifest")
        return data

    def checked(self, name: str, expected: object) -> Path:
        """The file, once its SHA-256 is the manifest's."""
        path = self.folder / name
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            raise ReaderDamagedError(path, "cannot be read") from exc
        if digest != expected:
            raise ReaderDamagedError(path, "does not match its checksum in reader.json")
        return path


class ReaderDamagedError(SummitError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The answer reader's file {path} {problem}: reinstall summit-assistant "
            "(or retrain it with tests/tuning/train_reader.py --write)."
        )


class SentenceReader(Protocol):
    """What the answerer needs of a reader (tests give a deterministic stand-in)."""

    threshold: float  # the probability from which a sentence is taken as the answer

    def read(self, question: str, windows: list[Window]) -> list[Reading]: ...


class AnswerReader:
    """Reads (question, window) pairs in batches; safe to share between threads."""

    def __init__(self, files: ReaderFiles | None = None, batch_size: int = 16) -> None:
        import onnxruntime

        files = files or ReaderFiles.shipped()
        manifest = files.manifest()
        self.threshold = float(manifest.get("threshold", 0.5))
        self._tokenizer = load_tokenizer(files.checked(TOKENIZER, manifest.get("tokenizer_sha256")))
        graph = files.checked(GRAPH, manifest.get("graph_sha256"))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )
        self._batch_size = batch_size

    def read(self, question: str, windows: list[Window]) -> list[Reading]:
        readings: list[Reading] = []
        for start in range(0, len(windows), self._batch_size):
            part = windows[start : start + self._batch_size]
            encoded = encode_pairs(self._tokenizer, [question] * len(part), part)
            readings += _readings(encoded, *self._run(encoded))
        return readings

    def _run(self, encoded: EncodedPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        answer, start, end = self._session.run(
            None,
            {
                "input_ids": encoded.input_ids,
                "attention_mask": encoded.attention_mask,
                "token_type_ids": encoded.token_type_ids,
            },
        )
        return answer, start, end


def _readings(
    encoded: EncodedPairs, answer: np.ndarray, start: np.ndarray, end: np.ndarray
) -> list[Reading]:
    probabilities = 1.0 / (1.0 + np.exp(-np.clip(answer, -60, 60)))
    return [
        Reading(float(probabilities[row]), _best_span(encoded, row, start[row], end[row]))
        for row in range(len(probabilities))
    ]


def _best_span(
    encoded: EncodedPairs, row: int, start: np.ndarray, end: np.ndarray
) -> tuple[int, int] | None:
    """The highest-scoring span of the sentence's pieces, at most _MAX_SPAN_PIECES long."""
    inside = encoded.sentence_mask[row]
    if not inside.any():
        return None
    s = np.where(inside, start, -np.inf)
    e = np.where(inside, end, -np.inf)
    scores = s[:, None] + e[None, :]
    n = len(s)
    allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(
        np.ones((n, n), dtype=bool), _MAX_SPAN_PIECES
    )
    first, last = np.unravel_index(np.argmax(np.where(allowed, scores, -np.inf)), scores.shape)
    offsets = encoded.offsets[row]
    return offsets[int(first)][0], offsets[int(last)][1]
