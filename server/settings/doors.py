"""The HTTP door (`summit serve`: address, key, limits) and the Slack door."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from server.settings.group import GROUP_CONFIG


class HttpSettings(BaseSettings):
    """Where `summit serve` listens, who may call it, and how much it takes at once."""

    model_config = GROUP_CONFIG

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
    upload_max_request_bytes: int = Field(
        default=50 << 20, ge=1024, description="Largest POST /documents body, files together."
    )
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="Requests a client may make per minute (0: no limit)."
    )
    rate_limit_burst: int = Field(
        default=20, ge=1, description="Requests a client may make at once before the limit."
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


class SlackSettings(BaseSettings):
    """The Slack app's credentials, who may add documents, and how long feedback is kept."""

    model_config = GROUP_CONFIG

    slack_bot_token: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_BOT_TOKEN",
        description="Bot token (xoxb-...): with the signing secret, serves /slack/events.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_SIGNING_SECRET",
        description="Signing secret that Slack's requests are verified with.",
    )
    slack_app_token: SecretStr | None = Field(
        default=None,
        validation_alias="SLACK_APP_TOKEN",
        description="App-level token (xapp-...) for Socket Mode (`summit slack`).",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (a Slack-compatible gateway, or a test stand-in).",
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
