"""Checking a written answer against the passages it cites.

A model's reply is split into sentences; each keeps the `[n]` markers it carries. A sentence
stands only if the passages it cites support it: they contain most of what the sentence is
about (rare words weigh more), every number it states, and a sentence close to it in meaning.
A sentence its own markers do not support, but another passage does, is cited to that
passage instead; a sentence no passage supports is dropped. Markers to passages that do not
exist are removed.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from server.answers.question import subject_terms, term_coverage
from server.base.sentences import split_sentences
from server.storage.embeddings import CachedEncoder
from server.storage.lexical import analyze_words, stem

# [1], [1, 2], [1-3], [^1]; separators between groups ("[1], [2]") go with them.
_MARKER = r"\[\^?\d+(?:\s*[,;\-\u2013]\s*\d+)*\]"
_MARKER_GROUP = re.compile(rf"\s*{_MARKER}(?:\s*[,;](?=\s*\[))?")
# Markers placed after the full stop ("Nara. [1]") belong to the sentence before them.
_MARKERS_AFTER_STOP = re.compile(rf"([.!?])((?:\s*{_MARKER}(?:\s*[,;])?)+)")
_MOST_IN_RANGE = 20  # "[1-3]" cites three passages; "[1-9999]" is not a citation
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A capitalised word inside a sentence is most often a name: of a person, place or body.
_NAME = re.compile(r"(?<=[\w,;:)]\s)[A-Z][\w'\u2019-]+")
_ALL = 1.0 - 1e-9  # every term, allowing for rounding


@dataclass(frozen=True)
class GroundingPolicy:
    min_coverage: float  # weighted share of the sentence's terms the passages must hold
    min_similarity: float  # cosine similarity to the closest sentence of the passages


@dataclass(frozen=True)
class Claim:
    """A sentence of the answer, without its markers, and the passages it cites (1-based)."""

    text: str
    cited: tuple[int, ...]


@dataclass
class Verification:
    kept: list[Claim] = field(default_factory=list)  # each cites only passages supporting it
    dropped: list[str] = field(default_factory=list)

    def text(self) -> str:
        return " ".join(_with_markers(claim) for claim in self.kept)

    def cited(self) -> list[int]:
        """Passage numbers cited by the kept sentences, in order of first citation."""
        return list(dict.fromkeys(n for claim in self.kept for n in claim.cited))


def parse_claims(reply: str) -> list[Claim]:
    """The reply's sentences with the passage numbers each cites."""
    normalised = _MARKERS_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", reply)
    claims = []
    for sentence in split_sentences(normalised):
        cited = tuple(
            dict.fromkeys(
                n for group in _MARKER_GROUP.findall(sentence) for n in _numbers_of(group)
            )
        )
        text = " ".join(_MARKER_GROUP.sub("", sentence).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if text:
            claims.append(Claim(text, cited))
    return claims


def _numbers_of(group: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"[,;]", group.strip(" ,;[]^")):
        ends = [int(n) for n in re.findall(r"\d+", part)]
        if len(ends) == 2 and 0 <= ends[1] - ends[0] < _MOST_IN_RANGE:
            numbers += range(ends[0], ends[1] + 1)
        elif ends:
            numbers.append(ends[0])
    return numbers


@dataclass(frozen=True)
class _Passages:
    """The numbered passages (1-based) a reply may cite, with their sentences."""

    texts: Sequence[str]
    sentences_of: list[list[str]]

    @classmethod
    def of(cls, texts: Sequence[str]) -> "_Passages":
        return cls(texts, [split_sentences(t) or [t] for t in texts])

    def numbers(self) -> range:
        return range(1, len(self.texts) + 1)

    def joined(self, numbers: tuple[int, ...]) -> str:
        return " ".join(self.texts[n - 1] for n in numbers)

    def sentences(self, numbers: tuple[int, ...]) -> list[str]:
        return [s for n in numbers for s in self.sentences_of[n - 1]]


class CitationVerifier:
    def __init__(self, encoder: CachedEncoder, policy: GroundingPolicy) -> None:
        self._encoder = encoder
        self._policy = policy

    def verify(self, reply: str, texts: Sequence[str]) -> Verification:
        """Which sentences of the reply the numbered passages (1-based) support."""
        result = Verification()
        passages = _Passages.of(texts)
        for claim in parse_claims(reply):
            existing = tuple(n for n in claim.cited if n in passages.numbers())
            support = self._support(claim.text, existing, passages)
            if support:
                result.kept.append(Claim(claim.text, support))
            else:
                result.dropped.append(claim.text)
        return result

    def _support(self, text: str, cited: tuple[int, ...], passages: _Passages) -> tuple[int, ...]:
        """The cited passages that support the sentence (those adding nothing left out),
        else the single passage that supports it best, else nothing."""
        if cited and self._supported(text, cited, passages):
            return self._needed(text, cited, passages)
        scored = [
            (self._similarity(text, passages.sentences((n,))), n)
            for n in passages.numbers()
            if n not in cited and self._supported(text, (n,), passages)
        ]
        return (max(scored)[1],) if scored else ()

    def _needed(self, text: str, cited: tuple[int, ...], passages: _Passages) -> tuple[int, ...]:
        """The citations without any the sentence is supported without: a passage cited
        beside the right one does not ride along."""
        needed = list(cited)
        for n in cited:
            rest = tuple(m for m in needed if m != n)
            if rest and self._supported(text, rest, passages):
                needed = list(rest)
        return tuple(needed)

    def _supported(self, text: str, numbers: tuple[int, ...], passages: _Passages) -> bool:
        joined = passages.joined(numbers)
        if not _numbers_present(text, joined) or not _names_present(text, joined):
            return False
        if term_coverage(subject_terms(text), joined) < self._policy.min_coverage:
            return False
        return self._similarity(text, passages.sentences(numbers)) >= self._policy.min_similarity

    def _similarity(self, text: str, sentences: list[str]) -> float:
        vectors = self._encoder.encode([text, *sentences], transient={text})
        return float(np.max(vectors[1:] @ vectors[0]))


def _numbers_present(text: str, source: str) -> bool:
    """Every number the sentence states appears in the source (1,000 and 1000 alike)."""
    wanted = {n.replace(",", "") for n in _NUMBER.findall(text)}
    present = {n.replace(",", "") for n in _NUMBER.findall(source)}
    return wanted <= present


def _names_present(text: str, source: str) -> bool:
    """Every name the sentence uses appears in the source: a swapped name (the wrong city,
    the wrong leader) changes the fact while the rest of the wording still matches."""
    names = {stem(word): 1.0 for word in analyze_words(" ".join(_NAME.findall(text)))}
    return not names or term_coverage(names, source) >= _ALL


def _with_markers(claim: Claim) -> str:
    """The sentence followed by its markers, as the extractive answer writes them."""
    markers = "".join(f"[{n}]" for n in claim.cited)
    return f"{claim.text} {markers}" if markers else claim.text
