"""One file read on its own: whatever its loader raises, or its libraries log or warn, stays
with that file and reaches the ingest report under its name.

Every file is read and chunked before anything is written, so one malformed file that makes
pypdf, trafilatura or lxml raise an error the loader does not list (IndexError, zlib.error...)
would otherwise stop the whole ingest. Their warnings name no file: left alone, pypdf prints
a bare "EOF marker not found" on stderr for each broken PDF.
"""

import logging
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.chunker import Chunker
from ingest.loaders import load_file
from ingest.source_files import LoadError, SkipCallback
from server.base.documents import Chunk, SourceDocument

# The loggers of the libraries loaders call (pypdf; trafilatura and the packages it uses).
LIBRARY_LOGGERS = (
    "pypdf",
    "trafilatura",
    "htmldate",
    "courlan",
    "justext",
    "charset_normalizer",
    "tld",
)
MAX_WARNINGS_A_FILE = 5  # distinct messages; a broken PDF can repeat one per object
MAX_WARNING_LENGTH = 160  # some quote raw bytes of the file

Chunked = list[tuple[SourceDocument, list[Chunk]]]


@dataclass(frozen=True)
class FileRead:
    documents: Chunked  # empty when the file is skipped
    problem: str | None  # why the file is skipped whole
    warnings: list[str]


def read_file(path: Path, chunker: Chunker, on_skip: SkipCallback) -> FileRead:
    """The file's documents and chunks, or why not; never raises for what the file holds."""
    with library_messages() as messages:
        documents, problem = _read(path, chunker, on_skip)
    return FileRead(documents, problem, summarise(messages))


def _read(path: Path, chunker: Chunker, on_skip: SkipCallback) -> tuple[Chunked, str | None]:
    try:
        documents = load_file(path, on_skip)  # each one storable (ingest/source_files.py)
        return [(document, chunker.chunk(document)) for document in documents], None
    except LoadError as exc:
        return [], str(exc)
    except Exception as exc:  # whatever a malformed file makes a library raise: see above
        return [], f"could not be read ({type(exc).__name__} in {_raised_in(exc)})"


def _raised_in(exc: BaseException) -> str:
    """The top-level package whose code raised: the library that failed on the file."""
    traceback = exc.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return "unknown code"
    module = traceback.tb_frame.f_globals.get("__name__") or "unknown code"
    return str(module).split(".")[0]


class _Collector(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # a malformed record must not stop the ingest either
            self.messages.append(str(record.msg))


@contextmanager
def library_messages() -> Iterator[list[str]]:
    """Collects what the libraries log or warn meanwhile, instead of letting it reach stderr
    (or a server's log) without the file's name."""
    messages: list[str] = []
    collector = _Collector(messages)
    loggers = [logging.getLogger(name) for name in LIBRARY_LOGGERS]
    propagated = [logger.propagate for logger in loggers]
    for logger in loggers:
        logger.addHandler(collector)
        logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages.extend(str(warning.message) for warning in caught)
    finally:
        for logger, propagate in zip(loggers, propagated, strict=True):
            logger.removeHandler(collector)
            logger.propagate = propagate


def summarise(messages: list[str]) -> list[str]:
    """Each distinct message once, with how often it came, the first few only."""
    counts = Counter(_one_line(message) for message in messages)
    shown = [
        message if times == 1 else f"{message} ({times} times)"
        for message, times in list(counts.items())[:MAX_WARNINGS_A_FILE]
    ]
    hidden = sum(list(counts.values())[MAX_WARNINGS_A_FILE:])
    return shown + ([f"... and {hidden} more warnings"] if hidden else [])


def _one_line(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= MAX_WARNING_LENGTH else f"{text[: MAX_WARNING_LENGTH - 1]}…"
