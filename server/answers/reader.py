"""The trained reader: reads the question with each candidate sentence and its title and
gives the probability that the sentence answers it.

all-MiniLM-L6-v2 fine-tuned as a cross-encoder on SQuAD 2.0, half of whose questions have no
answer (tests/tuning/train_reader.py); shipped as an int8 ONNX graph with its tokenizer and
run by onnxruntime, so answering imports no torch. Both files are checked against the
SHA-256 sums of reader.json when loaded: a damaged or replaced file is named, never read.
"""

import hashlib
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from server.answers.reader_inputs import Window, encode_pairs, load_tokenizer
from server.errors import SummitError

MANIFEST, GRAPH, TOKENIZER = "reader.json", "reader.onnx", "reader_tokenizer.json"
_LOGIT_LIMIT = 30.0


class ReaderDamagedError(SummitError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"The answer reader's file {path} {problem}: reinstall summit-assistant "
            "(or retrain it with tests/tuning/train_reader.py --write)."
        )


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
            raise ReaderDamagedError(path, "does not match its checksum in reader.json")
        return path


class SentenceReader(Protocol):
    """What the answerer needs of a reader (tests give a deterministic stand-in)."""

    def logits(self, question: str, windows: list[Window]) -> list[float]: ...


class AnswerReader:
    """Reads (question, window) pairs; safe to share between threads.

    One pair a run by default: the int8 graph quantises its activations with a scale taken
    from the whole batch, padding included, so a sentence read beside others gets another
    figure (up to a logit apart, measured); read alone, its figure is its own, the same in
    training the weights, evaluating and answering."""

    def __init__(self, files: ReaderFiles | None = None, batch_size: int = 1) -> None:
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
        self._batch_size = batch_size
        self._running = threading.Lock()

    def logits(self, question: str, windows: list[Window]) -> list[float]:
        """The log-odds that each window's sentence answers the question."""
        found: list[float] = []
        for start in range(0, len(windows), self._batch_size):
            part = windows[start : start + self._batch_size]
            encoded = encode_pairs(self._tokenizer, [question] * len(part), part)
            with self._running:  # as the embedder's (server/storage/onnx_runtime.py)
                answer = self._session.run(
                    ["answer_logit"],
                    {
                        "input_ids": encoded.input_ids,
                        "attention_mask": encoded.attention_mask,
                        "token_type_ids": encoded.token_type_ids,
                    },
                )[0]
            found += [float(v) for v in np.clip(answer, -_LOGIT_LIMIT, _LOGIT_LIMIT)]
        return found


@lru_cache(maxsize=1)
def shipped_reader() -> AnswerReader:
    """The reader shipped with the package, loaded once per process."""
    return AnswerReader()
