"""What every settings group shares: the SUMMIT_ prefix, the .env file, and how a field's
environment variable is named."""

from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsConfigDict

ENV_PREFIX = "SUMMIT_"

GROUP_CONFIG = SettingsConfigDict(
    env_prefix=ENV_PREFIX,
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    # A field named otherwise than its variable (SLACK_BOT_TOKEN, SUMMIT_LLM) is still set
    # by its name in code: StoreSettings(store=...), LlmSettings(backend="openai").
    validate_by_name=True,
    validate_by_alias=True,
)


def environment_variable(name: str, field: FieldInfo) -> str:
    """The variable that sets a field: its alias if it has one, else SUMMIT_ + its name."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        alias = alias.choices[0]
    return alias if isinstance(alias, str) else f"{ENV_PREFIX}{name.upper()}"
