"""Sentence-aware chunking with overlap, where every chunk fits the embedding model.

The model silently truncates past its maximum sequence length, so sizes are counted in
the model's own word pieces, with the title (embedded with each chunk) and the special
tokens included.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from server.base.documents import Block, Chunk, SourceDocument, indexed_text
from server.base.sentences import split_sentences

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(frozen=True)
class ChunkingPolicy:
    max_tokens: int  # the model's hard limit, special tokens included
    target_tokens: int  # preferred chunk size
    overlap_sentences: int


class Chunker:
    def __init__(self, count_tokens: TokenCounter, policy: ChunkingPolicy) -> None:
        self._count = count_tokens
        self._policy = policy
        self._specials: int | None = None

    def chunk(self, document: SourceDocument) -> list[Chunk]:
        title = self._fit_title(document.title)
        title_cost = self._count([indexed_text(title, "")])[0]
        budget = min(self._policy.target_tokens, self._policy.max_tokens) - title_cost
        texts_by_block = [(block, list(self._pack(block, budget))) for block in document.blocks]
        chunks: list[Chunk] = []
        seen: dict[str, int] = {}
        for block, texts in texts_by_block:
            for text in texts:
                chunk_id = _chunk_id(document, block, text, seen)
                chunks.append(_make_chunk(document, title, block, text, chunk_id, len(chunks)))
        self._check_fits(chunks)
        return chunks

    def _fit_title(self, title: str | None) -> str | None:
        """The title, cut to a quarter of the model's length and half the chunk size: it is
        embedded with each chunk and must leave room for the text."""
        if title is None:
            return None
        limit = min(self._policy.max_tokens // 4, self._policy.target_tokens // 2)
        pieces = self._fit(title, limit)
        return pieces[0] if len(pieces) == 1 else f"{pieces[0]} …"

    def _pack(self, block: Block, budget: int) -> Iterator[str]:
        sentences, costs = self._sentences_within(block.text, budget)
        start = 0
        while start < len(sentences):
            end, used = start, 0
            while end < len(sentences) and (end == start or used + costs[end] <= budget):
                used += costs[end]
                end += 1
            yield " ".join(sentences[start:end])
            if end >= len(sentences):
                return
            start = max(start + 1, end - self._policy.overlap_sentences)

    def _sentences_within(self, text: str, budget: int) -> tuple[list[str], list[int]]:
        """Sentences and their costs; a sentence over the budget is cut into pieces."""
        sentences = split_sentences(text)
        costs = self._count_plain(sentences)
        if all(cost <= budget for cost in costs):
            return sentences, costs
        pieces = [
            p
            for s, c in zip(sentences, costs, strict=True)
            for p in ([s] if c <= budget else self._fit(s, budget))
        ]
        return pieces, self._count_plain(pieces)

    def _count_plain(self, texts: list[str]) -> list[int]:
        """Word pieces without the special tokens (counted once per chunk in the budget)."""
        if self._specials is None:
            self._specials = self._count([""])[0]
        return [n - self._specials for n in self._count(texts)]

    def _fit(self, text: str, budget: int) -> list[str]:
        """The text, or pieces of it that fit: cut between words, or between characters
        for a run without spaces (Chinese, Japanese, a URL)."""
        if self._count_plain([text])[0] <= budget:
            return [text]
        words = text.split()
        units, joiner = (words, " ") if len(words) > 1 else (list(text), "")
        pieces: list[str] = []
        start = 0
        while start < len(units):
            take = self._longest_prefix(units, start, joiner, budget)
            piece = joiner.join(units[start : start + take])
            single_long_word = take == 1 and joiner == " "
            pieces.extend(self._fit(piece, budget) if single_long_word else [piece])
            start += take
        return pieces

    def _longest_prefix(self, units: list[str], start: int, joiner: str, budget: int) -> int:
        """How many units from `start` still fit. The search gallops (1, 2, 4, ... units)
        before it bisects, so its cost follows the piece's length, not the text's: a
        megabyte on one line stays linear."""

        def fits(n: int) -> bool:
            return self._count_plain([joiner.join(units[start : start + n])])[0] <= budget

        remaining = len(units) - start
        low, high = 1, 1
        while high < remaining and fits(min(high * 2, remaining)):
            low = high = min(high * 2, remaining)
        high = min(high * 2, remaining)
        while low < high:  # the answer lies in [low, high]: low fits, or is 1
            middle = (low + high + 1) // 2
            if fits(middle):
                low = middle
            else:
                high = middle - 1
        return low

    def _check_fits(self, chunks: list[Chunk]) -> None:
        longest = max(self._count([c.indexed_text for c in chunks]), default=0)
        if longest > self._policy.max_tokens:  # a bug here would silently truncate embeddings
            raise ValueError(f"a chunk of {longest} word pieces exceeds the model's maximum")


def _chunk_id(document: SourceDocument, block: Block, text: str, seen: dict[str, int]) -> str:
    """An id from content: the same passage of the same document keeps its id, under any
    path (the document's identity, not its source, is in the key)."""
    key = "\x00".join([document.identity, block.section or "", str(block.page or ""), text])
    occurrence = seen.get(key, 0)
    seen[key] = occurrence + 1
    return hashlib.sha256(f"{key}\x00{occurrence}".encode()).hexdigest()[:32]


def _make_chunk(
    document: SourceDocument,
    title: str | None,
    block: Block,
    text: str,
    chunk_id: str,
    position: int,
) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        doc_id=document.doc_id,
        source=document.source,
        title=title if title is not None else document.title,
        section=block.section,
        page=block.page,
        position=position,
        text=text,
        metadata=document.metadata,
    )
