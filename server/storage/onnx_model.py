"""An ONNX copy of a sentence-transformers model, exported once into a cache folder.

Importing torch and sentence-transformers costs seconds; onnxruntime and tokenizers (both
already installed by chromadb) cost a tenth of one. So a model is exported once, with torch,
into a folder named by the model's files and the export recipe, and every later process loads
that folder without importing torch. The export checks its own output against torch before it
is published, is published by one rename (a killed export leaves no half folder behind), and
runs under a file lock (two processes that need it at once export it once).
"""

import fcntl
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
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


def cache_key(model_dir: Path) -> str:
    """Names the export of this model folder: each file's path, size and modification time
    (a reinstalled or edited model is exported anew), and the export recipe."""
    digest = hashlib.sha256(json.dumps(EXPORT_RECIPE, sort_keys=True).encode())
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        stat = path.stat()
        relative = path.relative_to(model_dir).as_posix()
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def exported_model(model_dir: Path, cache_root: Path) -> ExportedModel:
    """The export of `model_dir` under `cache_root`, made now if there is none."""
    try:
        target = cache_root / f"{_slug(model_dir)}-{cache_key(model_dir)}"
        found = load_export(target)
        if found is not None:
            return found
        cache_root.mkdir(parents=True, exist_ok=True)
        with _waiting_lock(target.with_name(target.name + ".lock")):
            found = load_export(target)  # another process may have exported it meanwhile
            if found is None:
                _export(model_dir, target)
                found = load_export(target)
    except OSError as exc:
        raise ModelUnavailableError(
            f"Cannot make the ONNX export of {model_dir} in {cache_root} ({exc}); if that "
            "folder is not writable, set SUMMIT_MODEL_CACHE to one that is."
        ) from exc
    if found is None:
        raise ModelUnavailableError(f"The ONNX export in {target} does not verify.")
    return found


def load_export(folder: Path) -> ExportedModel | None:
    """The export in `folder` if it is whole and its graph matches its checksum, else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        with (folder / ONNX_FILE).open("rb") as graph:
            checksum = hashlib.file_digest(graph, "sha256").hexdigest()
        if checksum != manifest["sha256"] or not (folder / TOKENIZER_FILE).is_file():
            return None
        return ExportedModel(
            folder,
            ModelLayout(**manifest["layout"]),
            tuple(manifest["input_names"]),
            checksum,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _export(model_dir: Path, target: Path) -> None:
    """Exports into a fresh folder beside `target`, checks it, then renames it into place.
    Runs under the export lock, so leftovers of killed exports can be cleared."""
    for leftover in target.parent.glob(f".{target.name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)
    started = time.monotonic()
    print(
        f"Exporting the embedding model to ONNX once, into {target} ...",
        file=sys.stderr,
        flush=True,
    )
    layout = read_layout(model_dir)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    scratch.chmod(0o755)  # mkdtemp's 0700 would hide a shared cache from other users
    try:
        input_names = _export_graph(model_dir, layout, scratch)
        with (scratch / ONNX_FILE).open("rb") as graph:
            checksum = hashlib.file_digest(graph, "sha256").hexdigest()
        manifest = {
            "model": str(model_dir),
            "recipe": EXPORT_RECIPE,
            "layout": asdict(layout),
            "input_names": input_names,
            "sha256": checksum,
        }
        (scratch / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _fsync_tree(scratch)
        if target.exists():  # a damaged earlier export: replaced, under the lock
            shutil.rmtree(target)
        os.rename(scratch, target)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    print(f"Exported in {time.monotonic() - started:.0f} s.", file=sys.stderr, flush=True)


def _export_graph(model_dir: Path, layout: ModelLayout, scratch: Path) -> list[str]:
    """Writes the ONNX graph and tokenizer into `scratch` and checks the graph's vectors
    against torch's; returns the graph's input names."""
    from server.storage.onnx_export import export_transformer

    try:
        return export_transformer(model_dir, layout, scratch / ONNX_FILE, scratch / TOKENIZER_FILE)
    except (ModelUnavailableError, OSError):
        raise
    except Exception as exc:  # torch's exporter raises many kinds of errors
        raise ModelUnavailableError(
            f"Cannot export {model_dir} to ONNX ({type(exc).__name__}: {exc}): set "
            "SUMMIT_EMBEDDING_BACKEND=torch."
        ) from exc


@contextmanager
def _waiting_lock(path: Path) -> Iterator[None]:
    """An advisory lock (fcntl.flock) that waits: the second process to need an export
    waits for the first one's, then finds it done. Released by the kernel if killed."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as handle:
            os.fsync(handle.fileno())


def _slug(model_dir: Path) -> str:
    name = model_dir.name if model_dir.name != "model" else model_dir.parent.name
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60] or "model"


def _read_json(path: Path, model_dir: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(
            f"{model_dir} is not a sentence-transformers model folder ({path.name}: {exc})."
        ) from exc
