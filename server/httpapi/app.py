"""create_app(settings): the FastAPI app, its guards and its error vocabulary."""

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from server.assistant import Assistant
from server.httpapi import chat_routes, docs_routes, document_routes, openai_routes, page_routes
from server.httpapi.failures import RequestIdMiddleware, add_error_handlers
from server.httpapi.limits import (
    ApiKeyMiddleware,
    BodySizeMiddleware,
    ConcurrencyLimitMiddleware,
    RateLimitMiddleware,
    TokenBucket,
)
from server.live import AssistantFactory, LiveAssistant
from server.settings import HttpSettings, Settings

if TYPE_CHECKING:
    from server.components.intake import DocumentIntake

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    assistant_factory: AssistantFactory | None = None,
    intake: "IntakeProvider | None" = None,
) -> FastAPI:
    """The app; the assistant (model, store, BM25) loads in the background at start-up,
    and the document intake (shared with the Slack door) at the first upload."""
    factory = assistant_factory or _default_factory(settings)
    live = LiveAssistant(
        factory,
        settings.storage.refresh_seconds,
        max_question_chars=settings.answers.max_question_chars,
    )
    intake = intake or IntakeProvider(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        live.start()
        yield
        live.stop()
        intake.stop()

    app = FastAPI(
        title="summit-assistant",
        description="Answers about summit documents, every statement backed by a cited passage.",
        version="0.1.0",
        lifespan=lifespan,
        # docs_routes serves /docs from local assets; ReDoc would load from a CDN too.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.runtime = live
    app.state.intake = intake
    _add_routes(app, settings, live, intake)
    app.mount("/static", StaticFiles(directory=page_routes.STATIC), name="static")
    add_error_handlers(app)
    _add_guards(app, settings.http)
    return app


def _add_routes(
    app: FastAPI, settings: Settings, live: LiveAssistant, intake: "IntakeProvider"
) -> None:
    for router in (page_routes, docs_routes, chat_routes, openai_routes, document_routes):
        app.include_router(router.router)
    if settings.slack.slack_bot_token and settings.slack.slack_signing_secret:
        from server.components import feedback_store
        from server.httpapi.slack_routes import slack_router
        from server.slack.bot import create_slack_app
        from server.slack.files import SharedFiles

        files = SharedFiles(settings.slack, settings.ingest.upload_max_file_bytes, intake)
        bot = create_slack_app(
            settings.slack, lambda: live.assistant, feedback_store(settings), files
        )
        app.include_router(slack_router(bot))


class IntakeProvider:
    """The app's one document intake, made at its first use: its module loads the store's
    and the ingest's libraries, which a server need not wait for to listen."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._made: DocumentIntake | None = None
        self._lock = threading.Lock()

    def __call__(self) -> "DocumentIntake":
        with self._lock:
            if self._made is None:
                from server.components.intake import DocumentIntake

                self._made = DocumentIntake(self._settings)
            return self._made

    def stop(self) -> None:
        with self._lock:
            if self._made is not None:
                self._made.stop()


def _default_factory(settings: Settings) -> AssistantFactory:
    def build() -> Assistant:
        from server.components import build_assistant

        return build_assistant(settings, log.info)

    return build


def _add_guards(app: FastAPI, settings: HttpSettings) -> None:
    """Added innermost first. A request meets: CORS (preflights answered first), its
    request id, the body size, the API key, the client's rate limit, then its turn among
    the requests answered at once (only requests that passed the others wait for one)."""
    checks_keys = settings.api_key is not None and bool(settings.api_key.get_secret_value())
    if settings.max_concurrent_requests:
        app.add_middleware(
            ConcurrencyLimitMiddleware,
            limit=settings.max_concurrent_requests,
            max_wait_s=settings.queue_seconds,
        )
    if settings.rate_limit_per_minute:
        bucket = TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, bucket=bucket)
    if checks_keys and settings.api_key is not None:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key.get_secret_value())
    app.add_middleware(
        BodySizeMiddleware,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.upload_max_request_bytes,
    )
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
    )
