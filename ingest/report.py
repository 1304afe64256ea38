"""What an ingest tells its user: documents counted, and every file it could not take whole,
by name."""

from dataclasses import dataclass, field


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

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "moved": self.moved,
            "chunks": self.chunks,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "warnings": [{"path": w.path, "message": w.message} for w in self.warnings],
            "duplicates": [
                {"path": d.path, "of": d.of, "documents": d.documents} for d in self.duplicates
            ],
        }
