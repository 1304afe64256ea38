"""How documents go in: chunking, the ingest's batches, copies, and fetching the web."""

from pydantic import Field
from pydantic_settings import BaseSettings

from server.settings.group import GROUP_CONFIG


class IngestSettings(BaseSettings):
    """Chunking and writing documents, recognising copies, and fetching feeds and pages."""

    model_config = GROUP_CONFIG

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
    ingest_sentence_vectors: bool = Field(
        default=False,
        description=(
            "Also compute the vectors of every stored chunk's sentences at ingest (about "
            "1.8x its model time), so that no citation check runs the model on a passage."
        ),
    )
    near_duplicate_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="Copy score from which a new article is a copy of a stored one, kept "
        "once with both outlets (1: only identical texts): the estimated word 5-gram Jaccard "
        "similarity, or the share the texts hold of each other when the new one only adds a "
        "headline, a byline or a closing line. Measured on the news development set "
        "(docs/evaluation.md): updates of a developing story reach 0.70, a republished "
        "story 0.84.",
    )
    upload_max_file_bytes: int = Field(
        default=20 << 20,
        ge=1024,
        description="Largest file added through the page, the API or a Slack share.",
    )
    upload_max_waiting_jobs: int = Field(
        default=8,
        ge=1,
        description="Document ingests (page, API, Slack) waiting; past it, 503 and Retry-After.",
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
