"""A dependency-free sentence splitter good enough for news prose."""

import re

# A sentence ends at . ! or ? (plus closing quotes/brackets) followed by space and a
# capital, digit or opening quote.
_CLOSERS = "\"')\\]\u201d\u2019"
_OPENERS = "\"'(\\[\u201c\u2018"
_BOUNDARY = re.compile(rf"(?<=[.!?])[{_CLOSERS}]*\s+(?=[{_OPENERS}]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "gen",
        "gov",
        "sen",
        "rep",
        "no",
        "fig",
        "al",
        "approx",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
_INITIALS = re.compile(r"(?:\b[A-Za-z]\.)+$")
_PARAGRAPH = re.compile(r"\n\s*\n")


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; single newlines are hard wraps."""
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH.split(text))
    return [p for p in paragraphs if p]


def split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    for paragraph in split_paragraphs(text):
        sentences.extend(_split_paragraph(paragraph))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        candidate = paragraph[start : match.start()].rstrip()
        if _ends_with_abbreviation(candidate):
            continue
        end = match.start() + len(match.group(0).rstrip())
        pieces.append(paragraph[start:end].strip())
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


def _ends_with_abbreviation(text: str) -> bool:
    last_word = text.rsplit(None, 1)[-1] if text else ""
    if _INITIALS.search(last_word):
        return True
    return last_word.rstrip(".").lower() in _ABBREVIATIONS
