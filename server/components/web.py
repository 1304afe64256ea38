"""What the web sources need from the settings: the fetching policy and the sources to follow."""

from pathlib import Path

from ingest.web.fetcher import FetchPolicy
from ingest.web.sources import Sources, from_arguments, read_sources_file
from server.settings import IngestSettings


def fetch_policy(ingest: IngestSettings) -> FetchPolicy:
    return FetchPolicy(
        user_agent=ingest.fetch_user_agent,
        delay_seconds=ingest.fetch_delay_seconds,
        timeout_seconds=ingest.fetch_timeout_seconds,
        max_bytes=ingest.fetch_max_bytes,
        max_redirects=ingest.fetch_max_redirects,
    )


def sources_to_follow(targets: list[str], sources_file: Path | None, corpus: Path) -> Sources:
    """Command-line targets (paths and URLs) and a sources file's; none: the corpus."""
    sources = from_arguments(targets)
    if sources_file is not None:
        sources.add(read_sources_file(sources_file))
    return sources if (sources.paths or sources.web) else Sources(paths=[corpus])
