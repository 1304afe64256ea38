"""The one place that imports torch for the ONNX backend: exporting a model, once.

The transformer is exported with torch's TorchScript exporter (its dynamo exporter gave
wrong vectors for padded batches of this model: 0.3 max abs difference), with the batch and
sequence axes dynamic. Pooling and normalisation stay in numpy (server/storage/onnx_runtime.py),
and the whole path is checked against sentence-transformers before the export is published.
"""

import inspect
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import ModelUnavailableError
from server.storage.onnx_model import (
    EXPORT_OPSET,
    EXPORT_TOLERANCE,
    PROBE_TEXTS,
    ModelLayout,
)

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def export_transformer(
    model_dir: Path, layout: ModelLayout, onnx_path: Path, tokenizer_path: Path
) -> list[str]:
    """Writes the graph and the tokenizer, checks them, returns the graph's input names."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    accepted = inspect.signature(model.forward).parameters
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    sample = tokenizer(PROBE_TEXTS[:2], padding=True, return_tensors="pt")
    # RoBERTa-like tokenizers give no token_type_ids, though the model's forward takes them.
    input_names = [name for name in INPUTS if name in accepted and name in sample]
    axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
    # The exporter warns about graph details (advanced indexing, its own deprecation); the
    # check against torch below is what tells a sound export, so they are not shown.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _last_hidden_state(model, input_names),
            tuple(sample[name] for name in input_names),
            str(onnx_path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=EXPORT_OPSET,
            dynamo=False,
        )
    _save_tokenizer(model_dir, tokenizer, tokenizer_path)
    _check_against_torch(model_dir, layout, onnx_path, tokenizer_path, input_names)
    return input_names


def _last_hidden_state(model: Any, input_names: list[str]) -> Any:
    """A torch module that calls the transformer by keyword and returns its token vectors
    (defined here: torch is imported only when exporting)."""
    import torch

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: Any) -> Any:
            return self.model(**dict(zip(input_names, inputs, strict=True))).last_hidden_state

    return LastHiddenState()


def _save_tokenizer(model_dir: Path, tokenizer: Any, tokenizer_path: Path) -> None:
    """The fast tokenizer's file (truncation and padding are set when it is loaded)."""
    shipped = model_dir / "tokenizer.json"
    if shipped.is_file():
        shutil.copyfile(shipped, tokenizer_path)
    elif getattr(tokenizer, "backend_tokenizer", None) is not None:
        tokenizer.backend_tokenizer.save(str(tokenizer_path))
    else:
        raise ModelUnavailableError(
            f"{model_dir} has no fast tokenizer (tokenizer.json): set "
            "SUMMIT_EMBEDDING_BACKEND=torch."
        )


def _check_against_torch(
    model_dir: Path,
    layout: ModelLayout,
    onnx_path: Path,
    tokenizer_path: Path,
    input_names: list[str],
) -> None:
    from sentence_transformers import SentenceTransformer

    from server.storage.onnx_runtime import OnnxRuntime

    expected = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(
        PROBE_TEXTS, convert_to_numpy=True, show_progress_bar=False
    )
    runtime = OnnxRuntime(onnx_path, tokenizer_path, layout, tuple(input_names))
    difference = float(np.abs(runtime.encode(PROBE_TEXTS, batch_size=8) - expected).max())
    if difference > EXPORT_TOLERANCE:
        raise ModelUnavailableError(
            f"The ONNX export of {model_dir} differs from torch by {difference:.2g} "
            f"(more than {EXPORT_TOLERANCE}): set SUMMIT_EMBEDDING_BACKEND=torch."
        )
