"""One loaded ONNX export run with onnxruntime and tokenizers, no torch: pooling and
normalisation are done here in numpy, as sentence-transformers does them, so both backends
give the same vectors (to about 2e-7)."""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import ModelUnavailableError
from server.storage.onnx_model import ModelLayout


def usable_cores() -> int:
    """The cores this process may run on (a container may be given fewer than the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class OnnxRuntime:
    """One loaded export: an onnxruntime session and its tokenizer, safe to share between
    threads (the session runs concurrently; tokenizing is serialised, since a fast tokenizer
    used from two threads at once can fail with "Already borrowed").

    `parallel_runs` says how the cores are shared. 1 (answering): one run at a time, on
    onnxruntime's own threads; runs side by side would each grow its memory arena by their
    activations, which it never gives back (a server at 100k chunks peaked ~60 MB higher).
    More (ingest: `usable_cores()`): that many one-thread runs side by side, each on a batch
    of its own; for texts of a few hundred word pieces one run's threads share too little
    work (two of them encoded 38-48 chunks/s here, two one-thread runs side by side 55)."""

    def __init__(
        self,
        onnx_path: Path,
        tokenizer_path: Path,
        layout: ModelLayout,
        input_names: tuple[str, ...],
        graph_optimization: str = "ORT_ENABLE_ALL",
        parallel_runs: int = 1,
    ) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        # All of onnxruntime's graph rewrites by default: the same vectors as no rewrite (to
        # 2e-7), and faster (docs/deployment.md, "Embeddings without torch").
        options.graph_optimization_level = getattr(
            onnxruntime.GraphOptimizationLevel, graph_optimization
        )
        options.log_severity_level = 3
        if parallel_runs > 1:
            options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        self.layout = layout
        self._input_names = input_names
        self._counter = Tokenizer.from_file(str(tokenizer_path))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(layout.max_seq_length)
        self._tokenizer.enable_padding(pad_id=self._pad_id(), pad_token=self._pad_token())
        self._lock = threading.Lock()
        self.parallel_runs = max(1, parallel_runs)
        self._runs = threading.BoundedSemaphore(self.parallel_runs)

    def count_tokens(self, texts: list[str]) -> list[int]:
        with self._lock:
            encodings = self._counter.encode_batch(self._cased(texts), add_special_tokens=True)
        return [len(encoding.ids) for encoding in encodings]

    def encode(self, texts: list[str], batch_size: int) -> Any:
        """Vectors in the order of `texts`, encoded longest first (as sentence-transformers
        does) so that each batch pads its texts to a similar length."""
        order = sorted(range(len(texts)), key=lambda n: -len(texts[n]))
        batches = [
            [texts[n] for n in order[start : start + batch_size]]
            for start in range(0, len(order), batch_size)
        ]
        rows = self._encode_batches(batches)
        if not rows:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(rows)
        return vectors

    def _encode_batches(self, batches: list[list[str]]) -> list[Any]:
        if len(batches) < 2 or self.parallel_runs < 2:
            return [self._encode_batch(batch) for batch in batches]
        with ThreadPoolExecutor(min(self.parallel_runs, len(batches))) as pool:
            return list(pool.map(self._encode_batch, batches))

    @property
    def dimensions(self) -> int:
        return int(self._session.get_outputs()[0].shape[-1])

    def _encode_batch(self, texts: list[str]) -> Any:
        with self._lock:
            encodings = self._tokenizer.encode_batch(self._cased(texts))
        columns = {
            "input_ids": [e.ids for e in encodings],
            "attention_mask": [e.attention_mask for e in encodings],
            "token_type_ids": [e.type_ids for e in encodings],
        }
        feed = {name: np.asarray(columns[name], dtype=np.int64) for name in self._input_names}
        with self._runs:
            hidden = self._session.run(None, feed)[0]
        mask = np.asarray(columns["attention_mask"], dtype=np.float32)[:, :, None]
        pooled = _pool(hidden, mask, self.layout.pooling)
        if self.layout.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

    def _cased(self, texts: list[str]) -> list[str]:
        return [t.lower() for t in texts] if self.layout.lower_case else texts

    def _pad_token(self) -> str:
        for token in ("[PAD]", "<pad>"):
            if self._counter.token_to_id(token) is not None:
                return token
        raise ModelUnavailableError("The embedding model's tokenizer has no padding token.")

    def _pad_id(self) -> int:
        found = self._counter.token_to_id(self._pad_token())
        assert found is not None
        return found


def _pool(hidden: Any, mask: Any, pooling: str) -> Any:
    """sentence-transformers' Pooling: the mean or max of the unmasked tokens, or the first."""
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "max":
        return np.where(mask > 0, hidden, -1e9).max(axis=1)
    return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
