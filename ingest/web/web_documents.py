"""Feeds and pages read into documents, as files are read (ingest/file_reading.py): each
URL on its own, whatever fails one is a line in the report with its reason, and nothing is
written here. A feed's articles are fetched from their pages (the feed's own text is the
fallback); an entry whose stamp has not changed since it was stored is not fetched again,
and an unchanged feed or page answers 304 to the validators it sent last time.
"""

from collections.abc import Callable
from pathlib import Path

from ingest.chunker import Chunker
from ingest.file_reading import Chunked, library_messages, summarise
from ingest.loaders import html_document
from ingest.report import IngestReport, Skipped, Warned
from ingest.source_files import LoadError
from ingest.web.feeds import Entry, parse_feed
from ingest.web.fetcher import Fetched, FetchError, PoliteFetcher
from ingest.web.sources import Sources
from ingest.web.state import EntrySeen, FetchState
from server.base.documents import MetadataValue, SourceDocument

_FEED_TYPES = ("rss", "atom", "xml")


class WebDocuments:
    def __init__(
        self,
        fetcher: PoliteFetcher,
        state_file: Path,
        chunker: Chunker,
        is_stored: Callable[[str], bool],
    ) -> None:
        self._fetcher = fetcher
        self._state_file = state_file
        self._chunker = chunker
        self._is_stored = is_stored  # whether a URL's document (or its copy) is held
        self._state = FetchState.load(state_file)
        self._pending = FetchState()  # learnt now, saved once what was read is stored

    def read(self, sources: Sources, report: IngestReport) -> dict[str, Chunked]:
        reads: dict[str, Chunked] = {}
        for url in sources.feeds:
            self._read_feed(url, self._fetch(url, report), reads, report)
        for url in sources.pages:
            self._read_page(url, self._fetch(url, report), reads, report)
        for url in sources.urls:
            fetched = self._fetch(url, report)
            if fetched is not None and _looks_like_feed(fetched):
                self._read_feed(url, fetched, reads, report)
            else:
                self._read_page(url, fetched, reads, report)
        return reads

    def save_state(self) -> None:
        """Called once the documents read are stored: the next ingest asks for less."""
        self._state.validators.update(self._pending.validators)
        self._state.entries.update(self._pending.entries)
        self._state.save(self._state_file)

    def _fetch(self, url: str, report: IngestReport) -> Fetched | None:
        """The URL's answer; None when it failed (reported) or did not change (counted)."""
        try:
            fetched = self._fetcher.fetch(url, self._state.validators.get(url))
        except FetchError as exc:
            report.skipped.append(Skipped(url, str(exc)))
            return None
        if fetched.body is None:
            report.not_modified += 1
            return None
        report.fetched += 1
        return fetched

    def _read_feed(
        self, url: str, fetched: Fetched | None, reads: dict[str, Chunked], report: IngestReport
    ) -> None:
        if fetched is None or fetched.body is None:
            return
        try:
            feed = parse_feed(fetched.body)
        except LoadError as exc:
            report.skipped.append(Skipped(url, str(exc)))
            return
        settled = True
        for entry in feed.entries:
            seen = self._state.entries.get(entry.link)
            if seen is not None and seen.stamp == entry.stamp and self._is_stored(seen.source):
                report.entries_unchanged += 1
                continue
            settled &= self._read_entry(entry, feed.title, reads, report)
        # Else the whole feed is asked for again next time, so the entries that met a passing
        # fault are tried again; one that was refused for good does not hold the feed back.
        if settled:
            self._pending.validators[url] = fetched.validators

    def _read_entry(
        self, entry: Entry, outlet: str | None, reads: dict[str, Chunked], report: IngestReport
    ) -> bool:
        """Reads the entry's page (or keeps the feed's text); False when it met a passing
        fault worth trying again, True when it was read or refused for good (robots.txt,
        gone, no article text, no link)."""
        fallback = entry.metadata(outlet)
        problem, settled = "no link", True
        if entry.link:
            try:
                page = self._fetcher.fetch(entry.link)
                report.fetched += 1
                self._take(entry.link, page, fallback, reads, report, entry)
                return True
            except FetchError as exc:
                problem, settled = str(exc), exc.permanent
        if entry.text:  # the feed carries the article (or its summary): better than nothing
            warning = f"page not read ({problem}): the feed's text is stored"
            report.warnings.append(Warned(entry.link or entry.title or "entry", warning))
            document = entry.document(entry.link or str(entry.title), fallback)
            return self._keep(document, reads, entry)
        report.skipped.append(Skipped(entry.link or entry.title or "entry", problem))
        return settled

    def _read_page(
        self, url: str, fetched: Fetched | None, reads: dict[str, Chunked], report: IngestReport
    ) -> None:
        if fetched is not None and self._take(url, fetched, {}, reads, report, None):
            self._pending.validators[url] = fetched.validators

    def _take(
        self,
        asked: str,
        fetched: Fetched,
        fallback: dict[str, MetadataValue],
        reads: dict[str, Chunked],
        report: IngestReport,
        entry: Entry | None,
    ) -> bool:
        with library_messages() as messages:
            try:
                document = html_document(fetched.body or b"", fetched.url, dict(fallback))
            except LoadError as exc:
                report.skipped.append(Skipped(asked, f"{exc}"))
                return False
            except Exception as exc:  # whatever a malformed page makes a library raise
                report.skipped.append(Skipped(asked, f"could not be read ({type(exc).__name__})"))
                return False
        report.warnings.extend(Warned(asked, m) for m in summarise(messages))
        return self._keep(document, reads, entry)

    def _keep(
        self, document: SourceDocument, reads: dict[str, Chunked], entry: Entry | None
    ) -> bool:
        reads[document.source] = [(document, self._chunker.chunk(document))]
        if entry is not None and entry.link:
            self._pending.entries[entry.link] = EntrySeen(entry.stamp, document.source)
        return True


def _looks_like_feed(fetched: Fetched) -> bool:
    """A bare URL is a feed when its type says XML (RSS, Atom) or its body starts as one."""
    if any(kind in fetched.content_type.lower() for kind in _FEED_TYPES):
        return True
    start = (fetched.body or b"")[:512].lstrip().lower()
    return start.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf"))
