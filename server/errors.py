"""The small error vocabulary; each front door translates it once, by base class.

The message of a SummitError is written for users and may be shown to them. Four kinds:
- InvalidInputError: what was sent cannot be answered as it is (HTTP 422; fix the input);
- NotFoundError: what was asked for by its id does not exist (HTTP 404);
- UnavailableError: a part the answer needs is away or still loading (HTTP 503 with
  Retry-After; the same request may work later);
- any other error, a SummitError included (a missing prompt file, a backend not
  installed): a fault of the deployment (HTTP 500 with a request id, logged with its cause).
"""

import errno
import re

# What SQLite (inside Chroma's Rust core) and the OS say when the disk cannot take a write.
_DISK_FULL = re.compile(r"disk is full|no space left", re.IGNORECASE)
_READ_ONLY = re.compile(r"readonly database|read-only file system", re.IGNORECASE)
_SQLITE_CODE = re.compile(r"\(code: (\d+)\)")
_SQLITE_FULL, _SQLITE_READONLY = 13, 8  # primary codes; extended ones add bits above 0xFF


class SummitError(Exception):
    """An error whose message is safe and useful to show to a user."""


class InvalidInputError(SummitError):
    """The request itself is wrong: the same request will never work."""


class NotFoundError(SummitError):
    """What was asked for by its id does not exist (HTTP 404)."""


class UnavailableError(SummitError):
    """A part the answer needs (the store, the model, the loaded indexes) is away or busy:
    the same request may work after `retry_after_s` seconds."""

    retry_after_s = 5


class EmptyQuestionError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__("The question is empty: ask something about the documents.")


class PathNotFoundError(InvalidInputError):
    def __init__(self, path: str) -> None:
        super().__init__(f"No such file or folder: {path}")


class StoreUnavailableError(UnavailableError):
    """The store cannot be opened, read or written."""


class ModelUnavailableError(UnavailableError):
    """The embedding model cannot be loaded."""


class NotReadyError(UnavailableError):
    """The assistant is still loading, or its indexes could not be loaded or refreshed (it
    keeps trying; `retry_after_s` is when it next will)."""

    def __init__(self, detail: str, retry_after_s: int = 5, starting: bool = True) -> None:
        super().__init__(detail)
        self.retry_after_s = max(1, retry_after_s)
        self.starting = starting  # False: loading failed and is being retried


def storage_problem(exc: BaseException) -> str | None:
    """ "its disk is full" or "it is read-only" when that is why a store write failed."""
    causes = (exc, exc.__cause__)
    text = " ".join(str(e) for e in causes if e is not None)
    errnos = {getattr(e, "errno", None) for e in causes if isinstance(e, OSError)}
    sqlite_codes = {getattr(e, "sqlite_errorcode", None) for e in causes}
    sqlite_codes |= {int(code) for code in _SQLITE_CODE.findall(text)}
    primary = {code & 0xFF for code in sqlite_codes if isinstance(code, int)}
    if {errno.ENOSPC, errno.EDQUOT} & errnos or _SQLITE_FULL in primary or _DISK_FULL.search(text):
        return "its disk is full"
    if errno.EROFS in errnos or _SQLITE_READONLY in primary or _READ_ONLY.search(text):
        return "it is read-only"
    return None


def store_write_error(exc: BaseException, otherwise: str) -> StoreUnavailableError:
    """The error for a failed store write: the disk's problem named when there is one
    (see storage_problem), else `otherwise`."""
    problem = storage_problem(exc)
    if problem is None:
        return StoreUnavailableError(otherwise)
    return StoreUnavailableError(
        f"The store cannot be written: {problem}. What it held is kept; fix that and run again."
    )
