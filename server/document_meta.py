"""A document's publication date and outlet, where its metadata says them."""

import datetime

from server.base.documents import Chunk, MetadataValue

# Where front matter, HTML meta tags and JSONL `metadata` (kept as meta_*) put them.
_PUBLISHED_KEYS = ("published", "date", "published_at", "publish_date", "pubdate")
_OUTLET_KEYS = ("outlet", "publisher", "sitename", "site_name", "source_name")


def published_of(chunk: Chunk) -> str | None:
    return _metadata_text(chunk.metadata, _PUBLISHED_KEYS)


def outlet_of(chunk: Chunk) -> str | None:
    return _metadata_text(chunk.metadata, _OUTLET_KEYS)


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
