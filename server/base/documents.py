"""What loaders produce and the chunker consumes."""

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property

MetadataValue = str | int | float | bool
# Chroma refuses these metadata keys, and the whole write holding them (found by fuzzing).
_RESERVED_KEY_STARTS = ("#", "$", "chroma:")


@dataclass(frozen=True)
class Block:
    """A run of a document's text under one section heading on one page."""

    text: str
    section: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class SourceDocument:
    doc_id: str  # a file's path, or a JSONL record's id
    source: str
    title: str | None
    blocks: list[Block]
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    record_id: str | None = None  # a JSONL record's own id: part of what the record is

    @cached_property
    def identity(self) -> str:
        """What the document is, wherever its file lies: a digest of its title, metadata and
        text (runs of whitespace as one space), and a record's id. Not its path, so that a
        copied or moved folder holds the same documents (chunk ids are made from this)."""
        digest = hashlib.sha256()
        metadata = json.dumps(self.metadata, sort_keys=True, default=str)
        for part in [self.record_id or "", self.title or "", metadata]:
            digest.update(part.encode() + b"\x00")
        for block in self.blocks:
            text = " ".join(block.text.split())
            digest.update(f"{block.section or ''}\x00{block.page or ''}\x00{text}\x01".encode())
        return digest.hexdigest()[:32]


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


def unstorable(document: SourceDocument) -> str | None:
    """Why the store would refuse this document's chunks (and the write holding them)."""
    for key in document.metadata:
        if not key or key.startswith(_RESERVED_KEY_STARTS):
            return f"metadata key {key!r} cannot be stored (empty, or starts with # $ chroma:)"
    texts = [document.title or "", *document.metadata, *map(str, document.metadata.values())]
    texts += [part for block in document.blocks for part in (block.text, block.section or "")]
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"text that is not valid Unicode (an unpaired surrogate, {text[exc.start]!r})"
    return None
