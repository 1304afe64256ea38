"""The settings: groups by concern, each read from the same variables as before and validated
on its own, changed by field name, and the configuration page generated from them."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import EmbeddingSettings, LlmSettings, Settings
from server.settings.group import environment_variable
from server.settings.reference import markdown

ROOT = Path(__file__).resolve().parent.parent

# Every variable the settings were read from when they were one class; a deployment's
# environment must keep working as the groups change.
VARIABLES = """
SUMMIT_STORE SUMMIT_CHROMA_URL SUMMIT_CHROMA_TOKEN SUMMIT_CHROMA_TENANT SUMMIT_CHROMA_DATABASE
SUMMIT_REFRESH_SECONDS SUMMIT_COLLECTION SUMMIT_CORPUS_DIR SUMMIT_PROMPTS_DIR
SUMMIT_EMBEDDING_MODEL SUMMIT_EMBEDDING_BACKEND SUMMIT_MODEL_CACHE SUMMIT_EMBEDDING_DEVICE
SUMMIT_EMBEDDING_BATCH_SIZE SUMMIT_INGEST_BATCH_SIZE SUMMIT_CHUNK_TOKENS
SUMMIT_CHUNK_OVERLAP_SENTENCES SUMMIT_SENTENCE_CACHE_SIZE SUMMIT_SENTENCE_VECTORS
SUMMIT_INGEST_SENTENCE_VECTORS SUMMIT_MAX_QUESTION_CHARS SUMMIT_RETRIEVAL_CANDIDATES
SUMMIT_RRF_K SUMMIT_ANSWER_PASSAGES SUMMIT_ANSWER_MAX_SENTENCES SUMMIT_ANSWER_THRESHOLD
SUMMIT_LLM SUMMIT_LLM_BASE_URL SUMMIT_LLM_MODEL SUMMIT_LLM_API_KEY SUMMIT_LLM_TIMEOUT
SUMMIT_LLM_TEMPERATURE SUMMIT_LLM_MAX_TOKENS SUMMIT_GROUNDING_MIN_COVERAGE
SUMMIT_GROUNDING_MIN_SIMILARITY SUMMIT_HOST SUMMIT_PORT SUMMIT_API_KEY SUMMIT_CORS_ORIGINS
SUMMIT_MAX_BODY_BYTES SUMMIT_UPLOAD_MAX_FILE_BYTES SUMMIT_UPLOAD_MAX_REQUEST_BYTES
SUMMIT_UPLOAD_MAX_WAITING_JOBS SUMMIT_MAX_HISTORY_TURNS SUMMIT_RATE_LIMIT_PER_MINUTE
SUMMIT_MAX_CONCURRENT_REQUESTS SUMMIT_QUEUE_SECONDS SUMMIT_RATE_LIMIT_BURST SLACK_BOT_TOKEN
SLACK_SIGNING_SECRET SLACK_APP_TOKEN SUMMIT_SLACK_API_URL SUMMIT_FETCH_USER_AGENT
SUMMIT_FETCH_DELAY_SECONDS SUMMIT_FETCH_TIMEOUT_SECONDS SUMMIT_FETCH_MAX_BYTES
SUMMIT_FETCH_MAX_REDIRECTS SUMMIT_NEAR_DUPLICATE_THRESHOLD SUMMIT_SLACK_UPLOADERS
SUMMIT_SLACK_SLASH_EPHEMERAL SUMMIT_FEEDBACK_KEEP_DAYS
""".split()


def variables_read() -> list[str]:
    return [
        environment_variable(name, field)
        for group in Settings().groups().values()
        for name, field in type(group).model_fields.items()
    ]


def test_the_groups_read_exactly_the_variables_the_one_class_read() -> None:
    read = variables_read()
    assert sorted(read) == sorted(VARIABLES)
    assert len(read) == len(set(read))  # no variable sets two fields


def test_every_variable_sets_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMIT_LLM", "ollama")
    monkeypatch.setenv("SUMMIT_LLM_MODEL", "tiny")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SUMMIT_RATE_LIMIT_PER_MINUTE", "7")
    monkeypatch.setenv("SUMMIT_STORE", "/tmp/elsewhere")
    settings = Settings()
    assert settings.llm.backend == "ollama" and settings.llm.llm_model == "tiny"
    assert settings.slack.slack_bot_token is not None
    assert settings.slack.slack_bot_token.get_secret_value() == "xoxb-1"
    assert settings.http.rate_limit_per_minute == 7
    assert settings.storage.store == Path("/tmp/elsewhere")


def test_a_language_model_without_a_name_is_refused_by_its_own_group() -> None:
    with pytest.raises(ValidationError, match="SUMMIT_LLM_MODEL"):
        LlmSettings(backend="openai")
    assert EmbeddingSettings(embedding_device="cpu").embedding_device == "cpu"


def test_a_device_other_than_the_cpu_needs_torch_and_the_embedding_group_says_so() -> None:
    with pytest.raises(ValidationError, match="SUMMIT_EMBEDDING_BACKEND=torch"):
        EmbeddingSettings(embedding_device="cuda")
    assert EmbeddingSettings(embedding_device="cuda", embedding_backend="torch")


def test_changed_sets_fields_by_name_in_their_groups_and_validates_them() -> None:
    settings = Settings.of(store=Path("/tmp/a"), rate_limit_per_minute=0)
    changed = settings.changed(collection="other", llm_timeout=3.0)
    assert changed.storage.collection == "other" and changed.storage.store == Path("/tmp/a")
    assert changed.llm.llm_timeout == 3.0 and changed.http.rate_limit_per_minute == 0
    assert settings.storage.collection == "summit"  # the original is left as it was
    with pytest.raises(ValidationError):
        settings.changed(collection="x")  # too short a name for Chroma
    with pytest.raises(TypeError, match="no such setting: colection"):
        settings.changed(colection="other")


def test_a_value_given_to_settings_instead_of_to_its_group_is_an_error() -> None:
    with pytest.raises(ValidationError):
        Settings(store=Path("/tmp/a"))  # type: ignore[call-arg]


def test_the_configuration_page_is_generated_from_the_current_settings() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert page == markdown(), (
        "docs/configuration.md is stale: python -m server.settings.reference "
        "> docs/configuration.md"
    )
    assert all(f"`{variable}`" in page for variable in VARIABLES)
