"""PDF files: text page by page, within bounds that keep a hostile PDF from taking hours."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.source_files import LoadError, SkipCallback, new_document, read_bytes
from server.base.documents import Block, SourceDocument

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

    data = read_bytes(path)
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
    return [new_document(path, str(path), title or None, blocks, {})]


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
