"""What an ONNX export of a sentence-transformers model is: the recipe, the files of a
published export, and the model's layout (how word pieces become one vector).

The cache that makes and finds exports is server/storage/onnx_cache.py; the export itself,
the one torch import, server/storage/onnx_export.py; running one, onnx_runtime.py.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.errors import ModelUnavailableError

# Part of every cache key: a change of the recipe below exports models anew.
EXPORT_OPSET = 17
EXPORT_RECIPE = {"version": 1, "exporter": "torchscript", "opset": EXPORT_OPSET}
MANIFEST = "manifest.json"
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# The exported graph must give the vectors torch gives, to this much (max abs difference);
# a sound export differs by about 2e-7.
EXPORT_TOLERANCE = 1e-4
PROBE_TEXTS = [
    "Where was the summit held?",
    "",
    "The two leaders agreed to strengthen cooperation in economic security and defense. " * 9,
    "李在明大統領と高市早苗首相が奈良で会談した。",
    "Café talks in São Paulo: naïve hopes, Ångström-level détente.",
]
POOLING_MODES = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
}
_TRANSFORMER, _POOLING, _NORMALIZE = "Transformer", "Pooling", "Normalize"


@dataclass(frozen=True)
class ModelLayout:
    """What a sentence-transformers folder says about turning word pieces into a vector."""

    max_seq_length: int
    pooling: str
    normalize: bool
    lower_case: bool


@dataclass(frozen=True)
class ExportedModel:
    """A published export: the ONNX graph, its tokenizer and how to pool its output."""

    folder: Path
    layout: ModelLayout
    input_names: tuple[str, ...]
    sha256: str

    @property
    def onnx_path(self) -> Path:
        return self.folder / ONNX_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.folder / TOKENIZER_FILE


def read_layout(model_dir: Path) -> ModelLayout:
    """The layout of a Transformer → Pooling (→ Normalize) model; anything else (a Dense
    layer, weighted-mean pooling) is left to the torch backend."""
    modules = _read_json(model_dir / "modules.json", model_dir)
    # By class name: sentence-transformers 5 writes sentence_transformers.models.Pooling,
    # 6 writes sentence_transformers.base.modules.pooling.Pooling.
    kinds = [str(module.get("type")).rsplit(".", 1)[-1] for module in modules]
    if kinds[:2] != [_TRANSFORMER, _POOLING] or any(k != _NORMALIZE for k in kinds[2:]):
        raise ModelUnavailableError(
            f"The ONNX backend reads Transformer + Pooling (+ Normalize) models; {model_dir} "
            f"has {', '.join(kinds)}: set "
            "SUMMIT_EMBEDDING_BACKEND=torch."
        )
    pooling_config = _read_json(model_dir / modules[1]["path"] / "config.json", model_dir)
    modes = [name for key, name in POOLING_MODES.items() if pooling_config.get(key)]
    if isinstance(pooling_config.get("pooling_mode"), str):  # sentence-transformers 6
        modes = [pooling_config["pooling_mode"]]
    if (
        len(modes) != 1
        or modes[0] not in POOLING_MODES.values()
        or any(
            value
            for key, value in pooling_config.items()
            if key.startswith("pooling_mode_") and key not in POOLING_MODES
        )
    ):
        raise ModelUnavailableError(
            f"The ONNX backend pools by one of mean, cls or max; {model_dir} asks for another "
            "pooling: set SUMMIT_EMBEDDING_BACKEND=torch."
        )
    config = _read_json(model_dir / "sentence_bert_config.json", model_dir)
    return ModelLayout(
        max_seq_length=int(config.get("max_seq_length") or 512),
        pooling=modes[0],
        normalize=_NORMALIZE in kinds,
        lower_case=bool(config.get("do_lower_case", False)),
    )


def _read_json(path: Path, model_dir: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"{model_dir} is not a sentence-transformers model folder ({path.name}: {exc})."
        ) from exc
