"""Exports of sentence-transformers models, made once into a cache folder.

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
from dataclasses import asdict
from pathlib import Path

from server.errors import ModelUnavailableError
from server.storage.onnx_model import (
    EXPORT_RECIPE,
    MANIFEST,
    ONNX_FILE,
    TOKENIZER_FILE,
    ExportedModel,
    ModelLayout,
    read_layout,
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
