"""RSS and Atom feeds, read by feedparser: each entry's link, title, dates and text."""

import datetime
import html
import re
import time
from dataclasses import dataclass
from typing import Any

import feedparser

from ingest.source_files import LoadError, new_document
from server.base.documents import Block, MetadataValue, SourceDocument

_TAG = re.compile(r"<[^>]+>")
MIN_FEED_TEXT_CHARS = 200  # shorter than this, a feed's text is a teaser, not the article


@dataclass(frozen=True)
class Entry:
    link: str
    title: str | None
    published: str | None  # ISO date-time, where the feed gives one
    updated: str | None
    text: str | None  # the feed's own text of the article, when long enough to stand in

    @property
    def stamp(self) -> str:
        """What changes when the outlet changes the entry: its dates, or else its title."""
        return f"{self.updated or ''}|{self.published or ''}|{self.title or ''}"

    def metadata(self, outlet: str | None) -> dict[str, MetadataValue]:
        """What the feed says of the article; the page's own meta tags win over it."""
        found = {"published": self.published, "outlet": outlet}
        return {key: value for key, value in found.items() if value}

    def document(self, source: str, metadata: dict[str, MetadataValue]) -> SourceDocument:
        return new_document(source, source, self.title, [Block(self.text or "")], metadata)


@dataclass(frozen=True)
class Feed:
    title: str | None
    entries: list[Entry]


def parse_feed(body: bytes) -> Feed:
    parsed = feedparser.parse(body)
    if not parsed.get("version") and not parsed.entries:
        raise LoadError("not an RSS or Atom feed")
    title = _clean(parsed.feed.get("title"))
    return Feed(title, [_entry(raw) for raw in parsed.entries if raw.get("link") or _text(raw)])


def _entry(raw: Any) -> Entry:
    text = _text(raw)
    return Entry(
        link=str(raw.get("link") or "").strip(),
        title=_clean(raw.get("title")),
        published=_iso(raw.get("published_parsed")),
        # dict.get: feedparser's own get maps a missing `updated` to `published`, with a warning
        updated=_iso(dict.get(raw, "updated_parsed")),
        text=text if text and len(text) >= MIN_FEED_TEXT_CHARS else None,
    )


def _text(raw: Any) -> str | None:
    """The entry's full content where the feed carries it, else its summary, as text."""
    contents = raw.get("content") or []
    value = contents[0].get("value") if contents else raw.get("summary")
    return _clean(value)


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(html.unescape(_TAG.sub(" ", value)).split())
    return text or None


def _iso(parsed: Any) -> str | None:
    if not isinstance(parsed, time.struct_time):
        return None
    moment = datetime.datetime(*parsed[:6], tzinfo=datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")
