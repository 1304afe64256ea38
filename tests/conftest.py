import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import IngestPipeline
from server.settings import EmbeddingSettings, Settings
from server.storage.sentence_vectors import SentenceVectorStore
from tests.fakes import FakeEmbedder, fake_pipeline, open_sentence_vectors

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's SUMMIT_* variables, .env file or store."""
    for name in list(os.environ):
        if name.startswith("SUMMIT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUMMIT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.of(store=tmp_path / "store")


@pytest.fixture(scope="session")
def real_embedder() -> Iterator[object]:
    """The bundled model through the default (ONNX) backend, exported on first need into
    the user's model cache, where it is kept between runs."""
    from server.components.store import build_embedder

    # Set up before the autouse fixtures clear SUMMIT_* variables: named explicitly.
    yield build_embedder(
        EmbeddingSettings(_env_file=None, embedding_backend="onnx", embedding_model="")
    )


@pytest.fixture
def fake() -> FakeEmbedder:
    """The deterministic embedder (tests/fakes.py), chunks of up to 64 word pieces."""
    return FakeEmbedder(64)


@pytest.fixture
def pipeline(tmp_path: Path, fake: FakeEmbedder) -> IngestPipeline:
    """The real ingest pipeline and Chroma store under tmp_path, with the fake embedder."""
    return fake_pipeline(tmp_path, fake)


@pytest.fixture
def vectors(tmp_path: Path) -> Iterator[SentenceVectorStore]:
    """The sentence-vector file of the store under tmp_path."""
    opened = open_sentence_vectors(tmp_path)
    yield opened
    opened.close()
