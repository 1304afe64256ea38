"""create_app(settings): the FastAPI app, its guards and its error vocabulary."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from server.assistant import Assistant, InvalidTextError, QuestionTooLongError
from server.errors import (
    EmptyQuestionError,
    ModelUnavailableError,
    NotReadyError,
    StoreUnavailableError,
    SummitError,
)
from server.httpapi import chat_routes, docs_routes, openai_routes, page_routes
from server.httpapi.limits import (
    ApiKeyMiddleware,
    BodySizeMiddleware,
    ConcurrencyLimitMiddleware,
    RateLimitMiddleware,
    TokenBucket,
)
from server.httpapi.openai_routes import NoQuestionError
from server.httpapi.runtime import AssistantFactory, Runtime
from server.settings import Settings

log = logging.getLogger(__name__)
_RETRY_WHILE_LOADING = "5"
_STATUS = {
    EmptyQuestionError: 422,
    QuestionTooLongError: 422,
    InvalidTextError: 422,
    NoQuestionError: 422,
    StoreUnavailableError: 503,
    ModelUnavailableError: 503,
}


def create_app(settings: Settings, assistant_factory: AssistantFactory | None = None) -> FastAPI:
    """The app; the assistant (model, store, BM25) loads in the background at start-up."""
    runtime = Runtime(assistant_factory or _default_factory(settings), settings.refresh_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        runtime.start()
        yield
        runtime.stop()

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
    app.state.runtime = runtime
    for router in (page_routes.router, chat_routes.router, openai_routes.router):
        app.include_router(router)
    app.include_router(docs_routes.router)
    if settings.slack_bot_token and settings.slack_signing_secret:
        from server.httpapi.slack_routes import slack_router
        from server.slack.bot import create_slack_app

        app.include_router(slack_router(create_slack_app(settings, lambda: runtime.assistant)))
    app.mount("/static", StaticFiles(directory=page_routes.STATIC), name="static")
    _add_error_handlers(app)
    _add_guards(app, settings)
    return app


def _default_factory(settings: Settings) -> AssistantFactory:
    def build() -> Assistant:
        from server.components import build_assistant

        return build_assistant(settings, log.info)

    return build


def _add_guards(app: FastAPI, settings: Settings) -> None:
    """Added innermost first: CORS ends up outermost, so preflights are answered first."""
    checks_keys = settings.api_key is not None and bool(settings.api_key.get_secret_value())
    if settings.rate_limit_per_minute:
        bucket = TokenBucket(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.add_middleware(RateLimitMiddleware, bucket=bucket, key_by_api_key=checks_keys)
    if checks_keys and settings.api_key is not None:
        app.add_middleware(
            ApiKeyMiddleware,
            api_key=settings.api_key.get_secret_value(),
        )
    app.add_middleware(BodySizeMiddleware, max_bytes=settings.max_body_bytes)
    if settings.max_concurrent_requests:
        app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
    )


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotReadyError)
    async def not_ready(_: Request, exc: NotReadyError) -> JSONResponse:
        # Retrying helps while the assistant loads, not after it failed to.
        headers = {"Retry-After": _RETRY_WHILE_LOADING} if exc.transient else {}
        return JSONResponse({"detail": exc.detail}, status_code=503, headers=headers)

    @app.exception_handler(SummitError)
    async def summit_error(_: Request, exc: SummitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_STATUS.get(type(exc), 400))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _validation_message(exc)}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse({"detail": "Internal error; it has been logged."}, status_code=500)


def _validation_message(exc: RequestValidationError) -> str:
    """One readable sentence per problem: where, and what is wrong (input is not echoed)."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(problems)
