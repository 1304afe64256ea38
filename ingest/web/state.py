"""What the last fetches learnt, kept beside the store: each URL's validators (so an unchanged
feed or page costs one 304) and, for each feed entry taken, the stamp it had and where it
is stored (so an entry that did not change is not fetched again).

One JSON file, replaced whole by a rename: a killed ingest leaves the last complete state.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ingest.web.fetcher import Validators


@dataclass
class EntrySeen:
    stamp: str  # the entry's updated (or published) date and title, as the feed gave them
    source: str  # the URL its document is stored under


@dataclass
class FetchState:
    validators: dict[str, Validators] = field(default_factory=dict)  # by URL asked for
    entries: dict[str, EntrySeen] = field(default_factory=dict)  # by entry link

    @classmethod
    def load(cls, path: Path) -> "FetchState":
        """The saved state; none (every URL fetched whole) if the file is missing or
        unreadable: the state only saves requests, it never decides what is stored."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                {url: Validators(**v) for url, v in raw.get("validators", {}).items()},
                {link: EntrySeen(**e) for link, e in raw.get("entries", {}).items()},
            )
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = {
            "validators": {url: asdict(v) for url, v in self.validators.items()},
            "entries": {link: asdict(e) for link, e in self.entries.items()},
        }
        scratch.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(scratch, path)
