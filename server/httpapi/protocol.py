"""uvicorn's HTTP protocol, answering the requests it rejects itself in the API's shape.

A request uvicorn cannot parse (a URL past the parser's 64 kB, a malformed request line or
header) never reaches the app: uvicorn answers a plain-text 400. The protocol here answers
that 400 as JSON `{"detail": ...}`, like every other error of the API.
"""

import asyncio
import json

MAX_URL_BYTES = 65_535  # what httptools' URL parser takes
MALFORMED = (
    "The request could not be read: it is malformed or its URL is too long "
    "(a URL must stay under 64 kB; send long input in a POST body)."
)


def json_error_protocol() -> type[asyncio.Protocol]:
    """The protocol class `uvicorn.run(http=...)` takes: httptools' (a dependency of ours,
    and what uvicorn picks by default), answering its 400s as JSON."""
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class JsonErrorHttpTools(HttpToolsProtocol):
        def on_url(self, url: bytes) -> None:
            super().on_url(url)
            if len(self.url) > MAX_URL_BYTES:  # stop reading it now, not at its end
                raise httptools.HttpParserError("URL too long")

        def send_400_response(self, msg: str) -> None:
            body = _body()
            head = b"HTTP/1.1 400 Bad Request\r\n" + b"".join(
                name + b": " + value + b"\r\n" for name, value in _headers(body)
            )
            self.transport.write(head + b"\r\n" + body)
            self.transport.close()

    return JsonErrorHttpTools


def _body() -> bytes:
    return json.dumps({"detail": MALFORMED}).encode()


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
