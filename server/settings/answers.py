"""How questions are answered: retrieval and the span reader, or a language model."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from server.settings.group import GROUP_CONFIG
from server.settings.store import bundled


class AnswerSettings(BaseSettings):
    """The question accepted, the passages retrieved, and the extractive answer."""

    model_config = GROUP_CONFIG

    max_question_chars: int = Field(
        default=2000, ge=1, description="Longest question accepted, in characters."
    )
    max_history_turns: int = Field(
        default=50, ge=0, description="Earlier messages a follow-up may draw on (the latest)."
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
    prompts_dir: Path = Field(
        default_factory=lambda: bundled("prompts"),
        json_schema_extra={"shown_default": "the bundled prompts/"},
        description="Folder of user-facing texts and prompts.",
    )


class LlmSettings(BaseSettings):
    """The language model that may write answers, and the check of what it writes."""

    model_config = GROUP_CONFIG

    backend: Literal["extractive", "openai", "ollama"] = Field(
        default="extractive",
        validation_alias="SUMMIT_LLM",
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

    @model_validator(mode="after")
    def _model_named_when_used(self) -> "LlmSettings":
        if self.backend != "extractive" and not self.llm_model.strip():
            raise ValueError(f"SUMMIT_LLM={self.backend} needs SUMMIT_LLM_MODEL, the model's name.")
        return self
