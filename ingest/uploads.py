"""Files people upload (on the page, through the API, shared in Slack), kept under the store's
folder so that a re-ingest or a rebuild finds them.

What a file is comes from its content, never its name (a PDF called notes.txt is read as a
PDF; a program called report.pdf is refused), and its name is never used as a path: only its
last part's letters, digits, dots, dashes and underscores are kept, inside a folder of its
own.
"""

import json
import re
import uuid
from pathlib import Path

from server.errors import InvalidInputError

_NAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 80
_MARKDOWN = (".md", ".markdown")
_SNIFFED = 4096  # bytes read to tell a file's kind


class UnreadableUploadError(InvalidInputError):
    """No loader reads this kind of file (HTTP 415)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"{name}: not a kind of file the assistant reads (PDF, HTML, Markdown, text, "
            "JSON Lines)."
        )


def suffix_for(name: str, data: bytes) -> str:
    """The loader's suffix for this content: .pdf, .html, .jsonl, .md or .txt."""
    head = data[:_SNIFFED]
    if head.startswith(b"%PDF-"):
        return ".pdf"
    text = _text_of(head)
    if text is None:
        raise UnreadableUploadError(safe_name(name))
    opening = text.lstrip("\ufeff \t\r\n").lower()
    if opening.startswith(("<!doctype html", "<html", "<?xml")) or "<body" in opening[:1024]:
        return ".html"
    if _is_json_lines(data):
        return ".jsonl"
    return ".md" if name.lower().endswith(_MARKDOWN) else ".txt"


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """The file, saved in a new folder of its own under `folder`, named from its own name's
    last part and its content's kind."""
    suffix = suffix_for(name, data)
    stem = Path(safe_name(name)).stem or "upload"
    home = folder / uuid.uuid4().hex[:12]
    home.mkdir(parents=True)
    path = home / f"{stem}{suffix}"
    path.write_bytes(data)
    return path


def safe_name(name: str) -> str:
    """The last part of the name (either slash), with only safe characters, never hidden."""
    last = re.split(r"[\\/]", name)[-1]
    cleaned = _NAME_CHARS.sub("_", last).lstrip("._")
    return cleaned[:_MAX_NAME] or "upload"


def _text_of(head: bytes) -> str | None:
    """The start of the file as text, or None for binary content."""
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a character cut by the sniffed length
            return head[: exc.start].decode("utf-8")
        return None


def _is_json_lines(data: bytes) -> bool:
    first = next((line for line in data.splitlines() if line.strip()), b"")
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False
