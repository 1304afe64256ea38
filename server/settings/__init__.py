"""The settings, in groups by concern, built at each entry point and passed down.

Each group reads its own SUMMIT_ variables (and the .env file) and validates itself; a part
is handed the groups it uses. `Settings()` reads them all.

May import: nothing else of the project.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings

from server.settings.answers import AnswerSettings, LlmSettings
from server.settings.doors import HttpSettings, SlackSettings
from server.settings.ingest import IngestSettings
from server.settings.store import EmbeddingSettings, StoreSettings

__all__ = [
    "AnswerSettings",
    "EmbeddingSettings",
    "HttpSettings",
    "IngestSettings",
    "LlmSettings",
    "Settings",
    "SlackSettings",
    "StoreSettings",
]


class Settings(BaseModel):
    """Every group of settings; each reads the environment when it is not given."""

    model_config = ConfigDict(frozen=True, extra="forbid")  # fields are groups, not values

    storage: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    answers: AnswerSettings = Field(default_factory=AnswerSettings)
    llm: LlmSettings = Field(default_factory=LlmSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)

    def groups(self) -> dict[str, BaseSettings]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    def changed(self, **values: Any) -> "Settings":
        """These settings with some fields set anew, each by its name in its group (store=,
        collection=, rate_limit_per_minute=...), validated as the group validates. The
        environment is not read again: the other fields keep the values they have."""
        updates: dict[str, BaseSettings] = {}
        unknown = set(values)
        for name, group in self.groups().items():
            mine = {key: value for key, value in values.items() if key in type(group).model_fields}
            if mine:
                updates[name] = type(group).model_validate({**group.model_dump(), **mine})
                unknown -= mine.keys()
        if unknown:
            raise TypeError(f"no such setting: {', '.join(sorted(unknown))}")
        return self.model_copy(update=updates)

    @classmethod
    def of(cls, **values: Any) -> "Settings":
        """Settings read from the environment, with these fields set (as in `changed`)."""
        return cls().changed(**values)
