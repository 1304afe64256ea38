"""One loader per file format: a file in, SourceDocuments out, or a LoadError saying why not."""

import datetime
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from server.base.documents import Block, MetadataValue, SourceDocument, unstorable


class LoadError(Exception):
    """A file (or one record of it) that cannot be ingested; the message is the reason."""


Loader = Callable[[Path], list[SourceDocument]]
SkipCallback = Callable[[str, str], None]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def read_text(path: Path) -> str:
    """The file as text, or a LoadError for unreadable, binary, non-UTF-8 or empty files."""
    data = _read_bytes(path)
    if b"\x00" in data[:8192]:
        raise LoadError("binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(f"not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise LoadError("empty file")
    return text


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise LoadError("unreadable: permission denied") from exc
    except OSError as exc:
        raise LoadError(f"unreadable: {exc.strerror or 'I/O error'}") from exc


def load_markdown(path: Path) -> list[SourceDocument]:
    text = read_text(path)
    front, body = _split_front_matter(text)
    blocks = list(_markdown_blocks(body))
    front_title = front.get("title")
    title = str(front_title) if front_title else _first_heading(body)
    metadata = {k: v for k, v in front.items() if k != "title"}
    return [_document(path, str(path), title, blocks, metadata)]


def load_text(path: Path) -> list[SourceDocument]:
    return [_document(path, str(path), None, [Block(read_text(path))], {})]


def load_html(path: Path) -> list[SourceDocument]:
    import trafilatura  # lazy: only HTML needs it

    html = read_text(path)
    markdown = trafilatura.extract(html, output_format="markdown", favor_recall=True)
    if not markdown or not markdown.strip():
        raise LoadError("no article text found in the HTML")
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else _first_heading(markdown)
    return [_document(path, str(path), title, list(_markdown_blocks(markdown)), _html_meta(meta))]


def _html_meta(meta: Any) -> dict[str, MetadataValue]:
    """The page's publication date and site name (from its meta tags and JSON-LD)."""
    if meta is None:
        return {}
    found = {"published": meta.date, "outlet": meta.sitename}
    return {key: str(value) for key, value in found.items() if isinstance(value, str) and value}


# pypdf reads text drawing instructions at ~250 kB/s on a 2-core machine, and a tiny file
# can inflate to megabytes of them or list one page thousands of times. These bounds keep
# a hostile PDF to about two minutes; an ordinary one (tens of kB a page) is far below.
MAX_PDF_PAGES = 2_000
MAX_PDF_PAGE_CONTENT = 1 << 20  # bytes of drawing instructions on one page
MAX_PDF_CONTENT = 32 << 20  # ... in the whole file
# What pypdf raises, besides its own errors, on malformed files: an unknown stream filter is
# NotImplementedError, deeply nested objects a RecursionError.
_PDF_READ_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    NotImplementedError,
    RecursionError,
)


def load_pdf(path: Path, on_skip: SkipCallback) -> list[SourceDocument]:
    """Text page by page; a page over the limits is left out and reported via on_skip."""
    from pypdf import PdfReader  # lazy: only PDFs need it
    from pypdf.errors import PyPdfError

    data = _read_bytes(path)
    if not data.startswith(b"%PDF"):
        raise LoadError("corrupt PDF: no PDF header")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise LoadError("encrypted PDF")
        if len(reader.pages) > MAX_PDF_PAGES:
            raise LoadError(f"PDF of {len(reader.pages):,} pages, over the {MAX_PDF_PAGES:,} limit")
        pages = list(_pdf_page_texts(reader.pages, str(path), on_skip))
        title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, *_PDF_READ_ERRORS) as exc:
        raise LoadError(f"corrupt PDF ({type(exc).__name__})") from exc
    blocks = [Block(text, page=n) for n, text in pages if text.strip()]
    return [_document(path, str(path), title or None, blocks, {})]


def _pdf_page_texts(pages: Any, source: str, on_skip: SkipCallback) -> Iterator[tuple[int, str]]:
    budget = MAX_PDF_CONTENT  # pages left out count too: what is inflated is held in memory
    for number, page in enumerate(pages, start=1):
        size = _pdf_content_size(page)
        budget -= size
        if budget < 0:
            on_skip(
                f"{source}#page={number}",
                f"pages {number}-{len(pages)} left out: the PDF's drawing instructions "
                f"exceed the {_megabytes(MAX_PDF_CONTENT)} limit",
            )
            return
        if size > MAX_PDF_PAGE_CONTENT:
            on_skip(
                f"{source}#page={number}",
                f"page left out: {_megabytes(size)} of drawing instructions, "
                f"over the {_megabytes(MAX_PDF_PAGE_CONTENT)} a page limit",
            )
            continue
        yield number, page.extract_text() or ""


def _pdf_content_size(page: Any) -> int:
    """Bytes of drawing instructions text extraction reads on the page, inflated: its own,
    and for each "Do" in them the largest form it could draw (pypdf reads a form each time
    it is drawn). Forms drawn by forms are not counted."""
    from pypdf.generic import ArrayObject

    contents = _resolved(page.get("/Contents"))
    parts = contents if isinstance(contents, ArrayObject) else [contents]
    data = b"".join(_resolved(part).get_data() for part in parts if part is not None)
    xobjects = _resolved(_resolved(page.get("/Resources")) or {}).get("/XObject")
    forms = [
        _resolved(x)
        for x in (_resolved(xobjects) or {}).values()
        if _resolved(x).get("/Subtype") == "/Form"
    ]
    largest_form = max((len(form.get_data()) for form in forms), default=0)
    return len(data) + data.count(b"Do") * largest_form


def _resolved(value: Any) -> Any:
    """A PDF object with indirect references followed."""
    return value.get_object() if hasattr(value, "get_object") else value


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"


def load_jsonl(path: Path, on_skip: SkipCallback) -> list[SourceDocument]:
    """BEIR corpus layout: one JSON object a line with _id or id, text, title, metadata.

    A bad line is reported through on_skip and the rest go in; a file with no good line
    is a LoadError, so that its documents already in the store are kept.
    """
    documents: list[SourceDocument] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = _jsonl_record(path, line)
        except LoadError as exc:
            on_skip(f"{path}:{number}", str(exc))
            continue
        if document.doc_id in first_line:  # one id, one document: the first line wins
            on_skip(
                f"{path}:{number}",
                f"repeats id {document.doc_id!r} of line {first_line[document.doc_id]}",
            )
            continue
        first_line[document.doc_id] = number
        documents.append(document)
    if not documents:
        raise LoadError("no valid JSON Lines record")
    return documents


MAX_METADATA_FIELDS = 64


def _jsonl_record(path: Path, line: str) -> SourceDocument:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LoadError(f"invalid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise LoadError("invalid JSON (nested too deeply)") from exc
    if not isinstance(record, dict):
        raise LoadError("not a JSON object")
    doc_id = record.get("_id", record.get("id"))
    text = record.get("text")
    if doc_id is None or str(doc_id).strip() == "":
        raise LoadError("no _id or id")
    if not isinstance(text, str) or not text.strip():
        raise LoadError("no text")
    title = record.get("title")
    metadata = _scalar_metadata(record.get("metadata"))
    document = SourceDocument(
        doc_id=str(doc_id),
        source=str(path),
        title=title.strip() if isinstance(title, str) and title.strip() else None,
        blocks=[Block(text)],
        metadata=metadata,
        record_id=str(doc_id),
    )
    problem = unstorable(document)  # JSON escapes can spell half a character: "\ud83d"
    if problem is not None:
        raise LoadError(problem)
    return document


def _scalar_metadata(raw: Any) -> dict[str, MetadataValue]:
    """Chroma keeps only scalar metadata; nested values are dropped."""
    if not isinstance(raw, dict):
        return {}
    if len(raw) > MAX_METADATA_FIELDS:  # thousands of fields break Chroma's metadata index
        raise LoadError(f"more than {MAX_METADATA_FIELDS} metadata fields")
    return {
        f"meta_{key}": value
        for key, value in raw.items()
        if isinstance(value, str | int | float | bool)
    }


def _document(
    path: Path,
    doc_id: str,
    title: str | None,
    blocks: list[Block],
    metadata: dict[str, MetadataValue],
) -> SourceDocument:
    if not any(block.text.strip() for block in blocks):
        raise LoadError("no text to index")
    return SourceDocument(
        doc_id=doc_id, source=str(path), title=title, blocks=blocks, metadata=metadata
    )


def _front_matter_value(value: Any) -> MetadataValue:
    """YAML reads `date: 2025-11-14` as a date; it is kept as its ISO text."""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value.strip() if isinstance(value, str) else value


def _split_front_matter(text: str) -> tuple[dict[str, MetadataValue], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise LoadError("invalid YAML front matter") from exc
    except RecursionError as exc:
        raise LoadError("invalid YAML front matter (nested too deeply)") from exc
    front = (
        {
            str(k): _front_matter_value(v)
            for k, v in (data or {}).items()
            if isinstance(v, str | int | float | bool | datetime.date)
        }
        if isinstance(data, dict)
        else {}
    )
    return front, text[match.end() :]


def _markdown_blocks(body: str) -> Iterator[Block]:
    section: str | None = None
    lines: list[str] = []
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if "".join(lines).strip():
                yield Block("\n".join(lines), section=section)
            section, lines = heading.group(2).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        yield Block("\n".join(lines), section=section)


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading and len(heading.group(1)) == 1:
            return heading.group(2).strip()
    return None


LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
}
SUPPORTED_SUFFIXES = frozenset([*LOADERS, ".jsonl", ".pdf"])


def load_file(path: Path, on_skip: SkipCallback) -> list[SourceDocument]:
    """Documents of one file; on_skip hears of bad records inside a file that goes in."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return load_jsonl(path, on_skip)
    if suffix == ".pdf":
        return load_pdf(path, on_skip)
    loader = LOADERS.get(suffix)
    if loader is None:
        raise LoadError(f"unsupported format {suffix or '(no extension)'}")
    return loader(path)
