"""A document's publication date and outlet, where its metadata says them, and where else it
was published (its syndicated copies, recorded at ingest)."""

import datetime
import json
from typing import Any

from server.base.documents import Chunk, MetadataValue

# Where front matter, HTML meta tags and JSONL `metadata` (kept as meta_*) put them.
_PUBLISHED_KEYS = ("published", "date", "published_at", "publish_date", "pubdate")
_OUTLET_KEYS = ("outlet", "publisher", "sitename", "site_name", "source_name")


def published_of(chunk: Chunk) -> str | None:
    return _metadata_text(chunk.metadata, _PUBLISHED_KEYS)


def outlet_of(chunk: Chunk) -> str | None:
    return _metadata_text(chunk.metadata, _OUTLET_KEYS)


ALSO_IN_KEY = "also_in"  # chunk metadata: a JSON list of {source, outlet, published}


Copied = tuple[str, str | None, str | None]  # (source, outlet, published)


def also_in_of(chunk: Chunk) -> list[Copied]:
    """The copies of the chunk's article published elsewhere; a malformed record reads as
    none (metadata may come from a JSONL file that uses the key for something else)."""
    raw = chunk.metadata.get(ALSO_IN_KEY)
    try:
        copies = json.loads(raw) if isinstance(raw, str) else []
    except json.JSONDecodeError:
        return []
    if not isinstance(copies, list):
        return []
    return [_copy(copy) for copy in copies if isinstance(copy, dict) and copy.get("source")]


def _copy(copy: dict[str, Any]) -> Copied:
    return (
        str(copy["source"]),
        _text_or_none(copy.get("outlet")),
        _text_or_none(copy.get("published")),
    )


def _text_or_none(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def published_day(chunk: Chunk) -> datetime.date | None:
    """The publication date when it starts with an ISO date (2024-03-01, 2024-03-01T...)."""
    text = published_of(chunk)
    try:
        return datetime.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _metadata_text(metadata: dict[str, MetadataValue], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        for stored in (key, f"meta_{key}"):
            value = metadata.get(stored)
            if value not in (None, "") and not isinstance(value, bool):
                return str(value)
    return None
