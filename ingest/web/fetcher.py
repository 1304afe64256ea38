"""Polite HTTP: robots.txt honoured, a User-Agent naming the tool, a pause between requests
to one host, timeouts, a size cap, bounded redirects, and conditional requests (ETag and
Last-Modified) so an unchanged feed costs one request that carries no body.

Every failure is a FetchError whose message is the reason a user reads in the ingest report.
"""

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: crawlers may stop reading robots.txt after 500 KiB


class FetchError(Exception):
    """A URL that could not be fetched; the message says why, in a few words. `permanent`:
    the same request will be refused again (robots.txt, 404, too large), an answer rather
    than a passing fault (a timeout, a 5xx, no connection) worth trying again."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class FetchPolicy:
    user_agent: str
    delay_seconds: float
    timeout_seconds: float
    max_bytes: int
    max_redirects: int


@dataclass(frozen=True)
class Validators:
    """What a server said about its copy, sent back so it can answer 304 Not Modified."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    url: str  # where the body came from, after redirects
    body: bytes | None  # None: not modified since the validators sent
    content_type: str
    validators: Validators


class PoliteFetcher:
    def __init__(
        self,
        policy: FetchPolicy,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._policy = policy
        self._clock, self._sleep = clock, sleep
        self._client = httpx.Client(
            headers={"User-Agent": policy.user_agent},
            timeout=policy.timeout_seconds,
            follow_redirects=True,
            max_redirects=policy.max_redirects,
            trust_env=False,  # no proxy from the environment: a fetch goes where its URL says
        )
        self._last_request: dict[str, float] = {}  # host: when it was last asked
        self._robots: dict[str, Protego | None] = {}  # origin: its rules (None: allow all)
        self._unavailable: dict[str, FetchError] = {}  # origin: why its robots.txt failed
        self.requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "PoliteFetcher":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fetch(self, url: str, validators: Validators | None = None) -> Fetched:
        """The URL's body, or None for a 304; a FetchError says why not."""
        parsed = _checked(url)
        if not self._allowed(parsed, url):
            raise FetchError("disallowed by robots.txt", permanent=True)
        headers = {}
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        return self._get(url, headers, self._policy.max_bytes)

    def _allowed(self, parsed: urllib.parse.SplitResult, url: str) -> bool:
        origin = f"{parsed.scheme}://{parsed.netloc}"
        if origin in self._unavailable:  # asked once this run: not asked again
            raise self._unavailable[origin]
        if origin not in self._robots:
            try:
                self._robots[origin] = self._read_robots(origin)
            except FetchError as exc:
                self._unavailable[origin] = exc
                raise
        rules = self._robots[origin]
        return rules is None or bool(rules.can_fetch(url, self._policy.user_agent))

    def _read_robots(self, origin: str) -> Protego | None:
        """The host's rules, or None when it has none (RFC 9309: a 4xx allows everything;
        a 5xx or an unreachable robots.txt means the host is not crawled now)."""
        try:
            got = self._get(f"{origin}/robots.txt", {}, _ROBOTS_MAX_BYTES)
        except _HttpStatus as exc:
            if 400 <= exc.status < 500:
                return None
            raise FetchError(f"robots.txt unavailable (HTTP {exc.status})") from exc
        # Any other failure (no connection, a timeout) is the host's and says so as it is.
        return Protego.parse((got.body or b"").decode("utf-8", errors="replace"))

    def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> Fetched:
        self._wait_turn(urllib.parse.urlsplit(url).netloc)
        self.requests += 1
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return Fetched(str(response.url), None, "", _validators_of(response))
                if response.status_code >= 400:
                    raise _HttpStatus(response.status_code)
                body = _read_capped(response, max_bytes)
                content_type = response.headers.get("content-type", "")
                return Fetched(str(response.url), body, content_type, _validators_of(response))
        except httpx.TooManyRedirects as exc:
            raise FetchError(f"more than {self._policy.max_redirects} redirects") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timed out after {self._policy.timeout_seconds:g} s") from exc
        except httpx.ConnectError as exc:
            raise FetchError(f"could not connect ({_first_line(exc)})") from exc
        except httpx.HTTPError as exc:  # a broken answer: bad chunking, a dropped connection
            raise FetchError(f"broken answer ({type(exc).__name__})") from exc

    def _wait_turn(self, host: str) -> None:
        last = self._last_request.get(host)
        if last is not None:
            wait = self._policy.delay_seconds - (self._clock() - last)
            if wait > 0:
                self._sleep(wait)
        self._last_request[host] = self._clock()


# Client errors that may pass: a request timeout, too early, too many requests.
_PASSING_CLIENT_ERRORS = frozenset({408, 425, 429})


class _HttpStatus(FetchError):
    def __init__(self, status: int) -> None:
        permanent = 400 <= status < 500 and status not in _PASSING_CLIENT_ERRORS
        super().__init__(f"HTTP {status}", permanent)
        self.status = status


def _checked(url: str) -> urllib.parse.SplitResult:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise FetchError("not an http(s) URL", permanent=True)
    return parsed


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"larger than {max_bytes} bytes", permanent=True)
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:  # a server that sends more than it declared, or no length
            raise FetchError(f"larger than {max_bytes} bytes", permanent=True)
    return bytes(body)


def _validators_of(response: httpx.Response) -> Validators:
    return Validators(response.headers.get("etag"), response.headers.get("last-modified"))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__
