"""A small web site on 127.0.0.1 for the fetching tests: pages, feeds and robots.txt that a
test sets up route by route, slow and broken answers, redirects, and conditional GETs (an
ETag or Last-Modified it honours with 304). It records every request it is sent."""

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay_seconds: float = 0.0  # before the answer: a slow server
    location: str | None = None  # a redirect's target
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]


class WebSite:
    """Routes by path; a path with no route is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def page(self, path: str, body: str | bytes, **route: object) -> str:
        """Serves `body` at `path`; returns its full URL."""
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **route)  # type: ignore[arg-type]
        return self.url + path

    def feed(self, path: str, rss: str, **route: object) -> str:
        return self.page(path, rss, content_type="application/rss+xml", **route)

    def asked(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def start(self) -> "WebSite":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self.close()

    def close(self) -> None:
        """Frees the port (a site never started needs only this)."""
        self._server.server_close()


@contextmanager
def web_site() -> Iterator[WebSite]:
    site = WebSite().start()
    try:
        yield site
    finally:
        site.stop()


def http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


def _handler_for(site: WebSite) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(
                Request(self.path, {k.lower(): v for k, v in self.headers.items()})
            )
            route = site.routes.get(self.path)
            if route is None:
                self._answer(Route(body=b"not here", status=404))
            elif _not_modified(route, self.headers):
                self._answer(Route(status=304, etag=route.etag, last_modified=route.last_modified))
            else:
                time.sleep(route.delay_seconds)
                self._answer(route)

        def _answer(self, route: Route) -> None:
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                if route.status != 304:
                    self.send_header("Content-Length", str(len(route.body)))
                for name, value in _route_headers(route).items():
                    self.send_header(name, value)
                self.end_headers()
                if route.status != 304:
                    self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                pass

        def log_message(self, *_: object) -> None:  # quiet: tests read site.requests
            pass

    return Handler


def _route_headers(route: Route) -> dict[str, str]:
    headers = dict(route.headers)
    if route.etag:
        headers["ETag"] = route.etag
    if route.last_modified:
        headers["Last-Modified"] = route.last_modified
    if route.location:
        headers["Location"] = route.location
    return headers


def _not_modified(route: Route, headers: object) -> bool:
    asked_etag = headers.get("If-None-Match")  # type: ignore[attr-defined]
    asked_since = headers.get("If-Modified-Since")  # type: ignore[attr-defined]
    if route.etag and asked_etag:
        return bool(asked_etag == route.etag)
    return bool(route.last_modified and asked_since == route.last_modified)
