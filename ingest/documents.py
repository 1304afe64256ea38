"""What loaders produce and the chunker consumes."""

from dataclasses import dataclass, field

MetadataValue = str | int | float | bool


@dataclass(frozen=True)
class Block:
    """A run of a document's text under one section heading on one page."""

    text: str
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str
    source: str
    title: str | None
    blocks: list[Block]
    metadata: dict[str, MetadataValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Chunk:
    """A passage small enough to embed whole, with where it came from."""

    chunk_id: str
    doc_id: str
    source: str
    title: str | None
    section: str | None
    page: int | None
    position: int
    text: str
    metadata: dict[str, MetadataValue] = field(default_factory=dict)

    @property
    def indexed_text(self) -> str:
        return indexed_text(self.title, self.text)


def indexed_text(title: str | None, text: str) -> str:
    """The text embedded and indexed for a passage: its title gives it context."""
    return f"{title}\n{text}" if title else text
