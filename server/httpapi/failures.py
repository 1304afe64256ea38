"""How the HTTP door reports failures: one mapping of the error vocabulary, by base class.

Every request gets an id (the client's `X-Request-ID` when it is a plain token, else a new
one), sent back in the `X-Request-ID` header. Invalid input → 422 with the message; an
unavailable part → 503 with Retry-After; anything else → 500 with the request id. Every 5xx
is logged with its cause and the request id, so a client's report can be found in the log.
"""

import logging
import re
import uuid
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from server.errors import InvalidInputError, NotFoundError, SummitError, UnavailableError
from server.httpapi.limits import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header,
    request_id,
    send_json,
)

log = logging.getLogger(__name__)
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
INTERNAL = "Internal error; it has been logged with request id {request_id}."


@dataclass(frozen=True)
class Failure:
    status: int
    detail: str
    headers: dict[str, str]


def failure_of(exc: BaseException, request_id: str) -> Failure:
    """The response for an exception; logs it when it is the server's fault (5xx)."""
    if isinstance(exc, InvalidInputError):
        return Failure(422, str(exc), {})
    if isinstance(exc, NotFoundError):
        return Failure(404, str(exc), {})
    if isinstance(exc, UnavailableError):
        log.warning("request %s: 503 %s (cause: %r)", request_id, exc, exc.__cause__ or exc)
        return Failure(503, str(exc), {"Retry-After": str(exc.retry_after_s)})
    log.error("request %s failed", request_id, exc_info=exc)
    return Failure(500, INTERNAL.format(request_id=request_id), {})


class RequestIdMiddleware:
    """Gives each request its id, sends it back on every response, and answers any
    exception no handler took (logged once, here) with the 500 of `failure_of`."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = header(scope, b"x-request-id") or ""
        ident = given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = ident
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = [*headers, (b"x-request-id", ident.encode())]
            await send(message)

        try:
            await self._app(scope, receive, send_with_id)
        except Exception as exc:
            if started:  # too late for an error response: the server closes the connection
                raise
            failure = failure_of(exc, ident)
            await send_json(send_with_id, failure.status, _body(failure, ident), failure.headers)


def add_error_handlers(app: FastAPI) -> None:
    """Handlers for what routes raise; anything else reaches RequestIdMiddleware."""

    async def known(request: Request, exc: Exception) -> JSONResponse:
        return _response(failure_of(exc, request_id(request.scope)), request)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _response(Failure(422, _validation_message(exc), {}), request)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        """Starlette's own errors (404, 405, a body it cannot decode) in the same shape."""
        assert isinstance(exc, HTTPException)
        detail = _BODY_UNREADABLE if exc.detail == _FASTAPI_BODY_ERROR else str(exc.detail)
        if exc.status_code >= 500:
            log.error("request %s: %d %s", request_id(request.scope), exc.status_code, detail)
        return _response(Failure(exc.status_code, detail, dict(exc.headers or {})), request)

    app.add_exception_handler(SummitError, known)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)


_FASTAPI_BODY_ERROR = "There was an error parsing the body"  # FastAPI's words, e.g. bad UTF-8
_BODY_UNREADABLE = "The request body could not be read: send JSON encoded as UTF-8."


def _body(failure: Failure, ident: str) -> dict[str, str]:
    body = {"detail": failure.detail}
    if failure.status >= 500:
        body["request_id"] = ident
    return body


def _response(failure: Failure, request: Request) -> JSONResponse:
    ident = request_id(request.scope)
    return JSONResponse(_body(failure, ident), failure.status, failure.headers)


def _validation_message(exc: RequestValidationError) -> str:
    """One readable sentence per problem: where, and what is wrong (input is not echoed)."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
    return "Invalid request: " + "; ".join(problems)
