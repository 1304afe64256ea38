"""One loader per file format: a file in, SourceDocuments out, or a LoadError saying why not."""

import datetime
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from ingest.pdf_loader import load_pdf
from ingest.source_files import LoadError, SkipCallback, new_document, read_text
from server.base.documents import Block, MetadataValue, SourceDocument, unstorable

Loader = Callable[[Path], list[SourceDocument]]
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


def load_markdown(path: Path) -> list[SourceDocument]:
    text = read_text(path)
    front, body = _split_front_matter(text)
    blocks = list(_markdown_blocks(body))
    front_title = front.get("title")
    title = str(front_title) if front_title else _first_heading(body)
    metadata = {k: v for k, v in front.items() if k != "title"}
    return [new_document(path, str(path), title, blocks, metadata)]


def load_text(path: Path) -> list[SourceDocument]:
    return [new_document(path, str(path), None, [Block(read_text(path))], {})]


def load_html(path: Path) -> list[SourceDocument]:
    return [html_document(read_text(path), str(path))]


def html_document(
    html: str | bytes, source: str, fallback: dict[str, MetadataValue] | None = None
) -> SourceDocument:
    """A page's article text as markdown blocks, with its title, publication date, site
    name, language and canonical URL where the page says them (`fallback` fills the rest)."""
    import trafilatura  # lazy: only HTML needs it

    markdown = trafilatura.extract(html, output_format="markdown", favor_recall=True)
    if not markdown or not markdown.strip():
        raise LoadError("no article text found in the HTML")
    meta = trafilatura.extract_metadata(html)
    title = meta.title if meta is not None and meta.title else _first_heading(markdown)
    metadata = {**(fallback or {}), **_html_meta(meta, html)}
    return new_document(source, source, title, list(_markdown_blocks(markdown)), metadata)


_LANG = re.compile(rb"<html[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)", re.I)


def _html_meta(meta: Any, html: str | bytes) -> dict[str, MetadataValue]:
    """The page's publication date, site name, language and canonical URL (from its meta
    tags and JSON-LD)."""
    head = (html.encode() if isinstance(html, str) else html)[:65536]
    language = _LANG.search(head)
    found = {
        "published": meta.date if meta is not None else None,
        "outlet": meta.sitename if meta is not None else None,
        "url": meta.url if meta is not None else None,
        "language": language.group(1).decode().lower() if language else None,
    }
    return {key: str(value) for key, value in found.items() if isinstance(value, str) and value}


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
