"""What every loader shares: reading a file's bytes or text, the error that says why a
file (or a record of it) cannot be ingested, and a document with text to index."""

from collections.abc import Callable
from pathlib import Path

from server.base.documents import Block, MetadataValue, SourceDocument, unstorable

SkipCallback = Callable[[str, str], None]  # (location, reason): a part of a file left out


class LoadError(Exception):
    """A file (or one record of it) that cannot be ingested; the message is the reason."""


def read_text(path: Path) -> str:
    """The file as text, or a LoadError for unreadable, binary, non-UTF-8 or empty files."""
    data = read_bytes(path)
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise LoadError("empty file")
    return text


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise LoadError("unreadable: permission denied") from exc
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or 'I/O error'}") from exc


def new_document(
    path: Path | str,
    doc_id: str,
    title: str | None,
    blocks: list[Block],
    metadata: dict[str, MetadataValue],
) -> SourceDocument:
    """A document with text to index that the store can hold, or a LoadError saying why not."""
    if not any(block.text.strip() for block in blocks):
        raise LoadError("no text to index")
    document = SourceDocument(
        doc_id=doc_id, source=str(path), title=title, blocks=blocks, metadata=metadata
    )
    if (problem := unstorable(document)) is not None:
        raise LoadError(problem)
    return document
