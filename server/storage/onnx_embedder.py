"""Embeddings through onnxruntime and tokenizers: the default backend, with no torch.

The model is the ONNX export of the configured sentence-transformers model, made once
(server/storage/onnx_cache.py) and run by server/storage/onnx_runtime.py.
"""

import threading
from pathlib import Path
from typing import Any

from server.errors import ModelUnavailableError
from server.storage.embeddings import Embedder, model_folder
from server.storage.onnx_cache import exported_model
from server.storage.onnx_model import ExportedModel
from server.storage.onnx_runtime import OnnxRuntime


class OnnxEmbedder(Embedder):
    """The configured model through onnxruntime, exported on first need."""

    def __init__(
        self, model: str, cache_dir: Path, batch_size: int = 64, parallel_runs: int = 1
    ) -> None:
        super().__init__(model, batch_size)
        self.cache_dir = cache_dir
        self.parallel_runs = parallel_runs  # see OnnxRuntime: 1 to answer, the cores to ingest
        self._runtime: OnnxRuntime | None = None
        self._loading = threading.Lock()

    @property
    def runtime(self) -> OnnxRuntime:
        if self._runtime is None:
            with self._loading:  # two first requests load it once
                if self._runtime is None:
                    self._runtime = self._load()
        return self._runtime

    def export(self) -> ExportedModel:
        """The ONNX export of the model, made now if there is none."""
        return exported_model(model_folder(self.model_name), self.cache_dir)

    def _load(self) -> OnnxRuntime:
        export = self.export()
        try:
            return OnnxRuntime(
                export.onnx_path,
                export.tokenizer_path,
                export.layout,
                export.input_names,
                parallel_runs=self.parallel_runs,
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelUnavailableError(
                f"Cannot load the ONNX embedding model in {export.folder}: {exc}"
            ) from exc

    def load(self) -> None:
        self.runtime  # noqa: B018 - loading is the point

    @property
    def max_tokens(self) -> int:
        return self.runtime.layout.max_seq_length

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.runtime.count_tokens(texts) if texts else []

    def encode(self, texts: list[str]) -> Any:
        return self.runtime.encode(texts, self.batch_size)
