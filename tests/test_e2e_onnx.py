"""The ONNX embedding backend against sentence-transformers, with the real bundled model: the
same vectors and token counts, the same SciFact ranking, an export that survives being run
twice at once and being killed, and an answering process that never imports torch."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from server.components.store import build_embedder
from server.errors import ModelUnavailableError
from server.settings import EmbeddingSettings
from server.storage.embeddings import Embedder, SentenceEmbedder, model_folder
from server.storage.onnx_cache import exported_model, load_export
from server.storage.onnx_embedder import OnnxEmbedder
from server.storage.onnx_model import MANIFEST, ONNX_FILE, read_layout
from server.storage.onnx_runtime import usable_cores

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parent.parent
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
MIXED_TEXTS = [
    "Where was the summit held?",
    "",
    "   ",
    "李在明大統領と高市早苗首相が奈良で会談した。",
    "Lee and Takaichi agreed on supply chains. " * 60,  # past 256 word pieces: truncated
    "Numbers: 1,250 troops, 3.5 % growth, 2026-01-14.",
    *[f"Sentence {n} about the cooperation between Seoul and Tokyo." for n in range(40)],
]


@pytest.fixture(scope="module")
def torch_embedder() -> SentenceEmbedder:
    return SentenceEmbedder("")


def test_the_default_backend_is_onnx(real_embedder: Embedder) -> None:
    assert isinstance(real_embedder, OnnxEmbedder)
    torch_settings = EmbeddingSettings(embedding_backend="torch")
    assert isinstance(build_embedder(torch_settings), SentenceEmbedder)


def test_onnx_gives_the_vectors_and_counts_of_sentence_transformers(
    real_embedder: Embedder, torch_embedder: SentenceEmbedder
) -> None:
    onnx_vectors = real_embedder.encode(MIXED_TEXTS)
    torch_vectors = torch_embedder.encode(MIXED_TEXTS)
    assert onnx_vectors.shape == torch_vectors.shape == (len(MIXED_TEXTS), 384)
    assert onnx_vectors.dtype == np.float32
    assert float(np.abs(onnx_vectors - torch_vectors).max()) < 1e-5
    assert real_embedder.count_tokens(MIXED_TEXTS) == torch_embedder.count_tokens(MIXED_TEXTS)
    assert real_embedder.max_tokens == torch_embedder.max_tokens == 256
    assert real_embedder.encode([]).shape[0] == 0


@pytest.mark.skipif(not SCIFACT.exists(), reason="../shared/data/scifact is not there")
def test_onnx_ranks_scifact_as_sentence_transformers_does(
    real_embedder: Embedder, torch_embedder: SentenceEmbedder
) -> None:
    documents = read_jsonl(SCIFACT / "corpus.jsonl", 300)
    queries = [query["text"] for query in read_jsonl(SCIFACT / "queries.jsonl", 60)]
    texts = [f"{d['title']}. {d['text']}" for d in documents]
    onnx_scores = real_embedder.encode(queries) @ real_embedder.encode(texts).T
    torch_scores = torch_embedder.encode(queries) @ torch_embedder.encode(texts).T
    for onnx_row, torch_row in zip(onnx_scores, torch_scores, strict=True):
        torch_top = np.argsort(-torch_row)[:10]
        # The same top ten in the same order, except where two scores tie within 1e-5.
        ranked_by_onnx = onnx_row[torch_top]
        assert all(np.diff(ranked_by_onnx) <= 1e-5)
        assert set(np.argsort(-onnx_row)[:10]) == set(torch_top) or (
            np.sort(torch_row)[-10] - np.sort(torch_row)[-11] < 1e-5
        )


def read_jsonl(path: Path, limit: int) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line, _ in zip(lines, range(limit), strict=False)]


def export_process(model_dir: Path, cache: Path) -> subprocess.Popen[str]:
    code = (
        "import sys; from pathlib import Path; "
        "from server.storage.onnx_cache import exported_model; "
        "print(exported_model(Path(sys.argv[1]), Path(sys.argv[2])).folder)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(model_dir), str(cache)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_export_at_once_and_a_killed_export_leaves_nothing(
    tmp_path: Path,
) -> None:
    model_dir = model_folder("")
    cache = tmp_path / "models"
    killed = export_process(model_dir, cache)
    deadline = time.monotonic() + 120
    while not list(cache.glob(f".*/{ONNX_FILE}")):
        time.sleep(0.05)  # until the graph is written, not yet checked nor published
        assert killed.poll() is None and time.monotonic() < deadline, "no export under way"
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    folders = [p for p in cache.iterdir() if p.is_dir()]
    assert folders and all(p.name.startswith(".") for p in folders)  # only its scratch

    first, second = export_process(model_dir, cache), export_process(model_dir, cache)
    (out_1, err_1), (out_2, err_2) = first.communicate(), second.communicate()
    assert first.returncode == second.returncode == 0, err_1 + err_2
    assert out_1 == out_2
    assert (err_1 + err_2).count("Exporting the embedding model") == 1
    published = [p for p in cache.iterdir() if p.is_dir()]
    assert published == [Path(out_1.strip())]  # the killed export's scratch was cleared
    assert load_export(published[0]) is not None


def test_a_damaged_export_is_not_loaded_and_is_made_again(tmp_path: Path) -> None:
    model_dir = model_folder("")
    export = exported_model(model_dir, tmp_path)
    with export.onnx_path.open("r+b") as graph:
        graph.seek(export.onnx_path.stat().st_size // 2)
        graph.write(b"\x00\x01\x02\x03")
    assert load_export(export.folder) is None
    again = exported_model(model_dir, tmp_path)
    assert again.folder == export.folder and load_export(again.folder) is not None
    (again.folder / MANIFEST).unlink()
    assert load_export(again.folder) is None
    assert (exported_model(model_dir, tmp_path).folder / ONNX_FILE).is_file()


def test_a_model_the_onnx_backend_cannot_read_names_the_torch_backend(tmp_path: Path) -> None:
    kinds = ["Transformer", "Pooling", "Dense"]
    modules = [{"path": "", "type": f"sentence_transformers.models.{kind}"} for kind in kinds]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ModelUnavailableError, match="SUMMIT_EMBEDDING_BACKEND=torch"):
        read_layout(tmp_path)
    with pytest.raises(ModelUnavailableError, match="not a sentence-transformers model"):
        read_layout(tmp_path / "missing")


def modules_loaded_while_answering(store: Path) -> Any:
    """Asks a question through the CLI in a fresh process; its loaded top-level modules."""
    code = (
        "import json, sys\n"
        "from server.cli import app\n"
        "try:\n"
        "    app(['ask', 'Where was the summit held?', '--json', '--store', sys.argv[1]])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "SUMMIT_STORE": str(store)},
    )
    answer_line, modules_line = done.stdout.strip().splitlines()[-2:]
    return json.loads(answer_line), set(json.loads(modules_line))


def test_a_process_that_answers_never_imports_torch(
    real_embedder: Embedder, tmp_path: Path
) -> None:
    real_embedder.load()  # the export exists, as after `summit model export`
    answer, modules = modules_loaded_while_answering(tmp_path / "store")
    assert answer["answered"] and "Nara" in answer["answer"]
    assert {"onnxruntime", "tokenizers", "chromadb"} <= modules  # the real parts answered
    assert "spacy" not in modules
    assert not modules & {"torch", "sentence_transformers", "transformers"}


def test_model_export_prints_the_published_folder() -> None:
    from typer.testing import CliRunner

    from server.cli import app

    result = CliRunner().invoke(app, ["model", "export", "--json"])
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    export = load_export(Path(printed["folder"]))
    assert export is not None and export.sha256 == printed["sha256"]


def test_status_and_help_load_no_model(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "from server.cli import app\n"
        "for args in (['--help'], ['status', '--json', '--store', sys.argv[1]]):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not modules & {"onnxruntime", "tokenizers", "torch", "spacy"}


def test_an_unwritable_model_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ModelUnavailableError, match="SUMMIT_MODEL_CACHE"):
        exported_model(model_folder(""), blocker / "models")


def test_a_folder_saved_by_sentence_transformers_6_is_read(tmp_path: Path) -> None:
    modules = [
        {"path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.base.modules.pooling.Pooling"},
        {"path": "2_Normalize", "type": "sentence_transformers.base.modules.Normalize"},
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "cls"}))
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    layout = read_layout(tmp_path)
    assert (layout.pooling, layout.normalize, layout.max_seq_length) == ("cls", True, 128)
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "weighted"}))
    with pytest.raises(ModelUnavailableError, match="pooling"):
        read_layout(tmp_path)


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_both_backends_encode_safely_from_32_threads_at_once(
    backend: str, real_embedder: Embedder, torch_embedder: SentenceEmbedder
) -> None:
    """Request threads share one tokenizer and model: every thread gets the vectors a lone
    call gives (a fast tokenizer shared without a lock raises "Already borrowed")."""
    embedder = real_embedder if backend == "onnx" else torch_embedder
    texts = [MIXED_TEXTS[n % len(MIXED_TEXTS) :] + MIXED_TEXTS[:1] for n in range(32)]
    alone = [embedder.encode(batch) for batch in texts]
    start = threading.Barrier(32)

    def encode(batch: list[str]) -> object:
        start.wait()
        return embedder.encode(batch)

    with ThreadPoolExecutor(32) as pool:
        together = list(pool.map(encode, texts))
    for one, other in zip(alone, together, strict=True):
        assert float(np.abs(np.asarray(one) - np.asarray(other)).max()) < 1e-5


def test_ingest_runs_side_by_side_and_gives_the_vectors_of_one_run_at_a_time(
    real_embedder: Embedder,
) -> None:
    """The ingest's embedder runs a batch a core at once, each run on one thread; its vectors
    come back in the order of the texts, as the answering embedder's do."""
    settings = EmbeddingSettings(_env_file=None, embedding_backend="onnx", embedding_model="")
    bulk = build_embedder(settings, bulk=True)
    assert isinstance(bulk, OnnxEmbedder) and isinstance(real_embedder, OnnxEmbedder)
    assert bulk.runtime.parallel_runs == usable_cores()
    assert real_embedder.runtime.parallel_runs == 1
    texts = MIXED_TEXTS * 2  # a batch a text (the default): many batches to share out
    side_by_side = bulk.encode(texts)
    one_at_a_time = real_embedder.encode(texts)
    assert side_by_side.shape == (len(texts), 384)
    assert float(np.abs(side_by_side - one_at_a_time).max()) < 1e-5
