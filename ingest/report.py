"""What an ingest tells its user: documents counted, and every file it could not take whole,
by name."""

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class Warned:
    """Something a library said while reading this file (pypdf repairing a broken PDF...)."""

    path: str
    message: str


@dataclass(frozen=True)
class Duplicate:
    """Documents of this file the store already holds under another path: nothing added."""

    path: str
    of: str
    documents: int


@dataclass(frozen=True)
class NearDuplicate:
    """A document left out because it nearly repeats one the store keeps (ingest/syndication)."""

    path: str
    of: str
    similarity: float


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    moved: int = 0  # found at a new path: relabelled, not embedded again
    chunks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Warned] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    near_duplicates: list[NearDuplicate] = field(default_factory=list)
    fetched: int = 0  # feeds and pages that sent a body
    not_modified: int = 0  # feeds and pages that answered 304: nothing new, nothing read
    entries_unchanged: int = 0  # feed entries stored before and unchanged: not fetched
    documents: list[str] = field(default_factory=list)  # ids of those added, updated or moved

    def as_json(self) -> dict[str, object]:
        return asdict(self)
