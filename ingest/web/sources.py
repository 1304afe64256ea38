"""What an ingest follows: files and folders, feed URLs and page URLs, given on the command
line or named in a sources file (TOML or YAML):

    feeds = ["https://example.org/world.rss"]
    pages = ["https://example.org/statement.html"]
    folders = ["saved"]          # relative to the sources file; `folder = "saved"` works too
"""

import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from server.errors import InvalidInputError

_KEYS = frozenset({"feeds", "pages", "folders", "folder"})


class SourcesError(InvalidInputError):
    """A sources file that cannot be read, or names something that is not a source."""


@dataclass
class Sources:
    paths: list[Path] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)  # given bare: a feed or a page, as it says

    @property
    def web(self) -> bool:
        return bool(self.feeds or self.pages or self.urls)

    def add(self, other: "Sources") -> None:
        self.paths += other.paths
        self.feeds += other.feeds
        self.pages += other.pages
        self.urls += other.urls


def is_url(text: str) -> bool:
    parsed = urllib.parse.urlsplit(text)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def from_arguments(arguments: list[str]) -> Sources:
    """Command-line targets: http(s) URLs are fetched, anything else is a path."""
    sources = Sources()
    for argument in arguments:
        if is_url(argument):
            sources.urls.append(argument)
        else:
            sources.paths.append(Path(argument))
    return sources


def read_sources_file(path: Path) -> Sources:
    raw = _parse(path)
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise SourcesError(f"{path}: unknown key {unknown[0]!r} (use feeds, pages, folders)")
    folders = _strings(path, raw, "folders") + _strings(path, raw, "folder")
    sources = Sources(
        paths=[(path.parent / folder).resolve() for folder in folders],
        feeds=_urls(path, raw, "feeds"),
        pages=_urls(path, raw, "pages"),
    )
    if not (sources.paths or sources.web):
        raise SourcesError(f"{path}: names no feeds, pages or folders")
    return sources


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourcesError(f"no such sources file: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: unreadable ({type(exc).__name__})") from exc
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        else:
            data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SourcesError(f"{path}: not valid {_format(path)} ({_first_line(exc)})") from exc
    if not isinstance(data, dict):
        raise SourcesError(f"{path}: expected keys feeds, pages, folders")
    return data


def _strings(path: Path, raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key, [])
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise SourcesError(f"{path}: {key} must be a list of strings")
    return list(values)


def _urls(path: Path, raw: dict[str, Any], key: str) -> list[str]:
    urls = _strings(path, raw, key)
    for url in urls:
        if not is_url(url):
            raise SourcesError(f"{path}: {key}: {url!r} is not an http(s) URL")
    return urls


def _format(path: Path) -> str:
    return "YAML" if path.suffix.lower() in (".yaml", ".yml") else "TOML"


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
