"""An answer as plain text: the answer with its [n] markers, then a sources list.

Used where only text travels (OpenAI-compatible replies, notification fallbacks).
"""

from server.contract import Answer, Citation

_QUOTE_CHARS = 300
# Before the checked answer, where text already streamed cannot be taken back.
CHECKED_HEADING = "Checked against the sources:"


def sources_heading(answer: Answer) -> str:
    """What the citations are: the sources of an answer, or the closest passages a refusal
    shows instead of guessing. Every front door heads them so."""
    return "Sources" if answer.answered else "Closest passages"


def answer_as_text(answer: Answer) -> str:
    return short_answer_lead(answer.short_answer) + answer.answer + sources_as_text(answer)


def sources_as_text(answer: Answer) -> str:
    """What follows the answer text: the checks' notes, then the numbered sources."""
    lines = [f"\n\n{note}" for note in check_notes(answer)]
    if answer.citations:
        lines += [f"\n\n{sources_heading(answer)}:"]
        lines += [f"\n[{c.n}] {citation_label(c)}: “{_quote(c.text)}”" for c in answer.citations]
    return "".join(lines)


def check_notes(answer: Answer) -> list[str]:
    """Why the answer differs from what a language model wrote, one note a line."""
    notes = [answer.notice] if answer.notice else []
    if answer.dropped:
        removed = "; ".join(f"“{sentence}”" for sentence in answer.dropped)
        notes.append(f"Removed because no cited passage supports it: {removed}")
    return notes


SHORT_ANSWER_SEPARATOR = " — "  # between the short answer and the quoted sentences


def short_answer_lead(short: str | None) -> str:
    """What goes before the answer text where only text travels: "Nara — ", or nothing."""
    return f"{short}{SHORT_ANSWER_SEPARATOR}" if short else ""


def citation_label(citation: Citation) -> str:
    """Title (or source), outlet and date, section and page, as a reader would name the
    passage."""
    parts = [
        citation.title or citation.source,
        ", ".join(filter(None, [citation.outlet, citation.published])) or None,
        citation.section if citation.section != citation.title else None,
        f"page {citation.page}" if citation.page else None,
        also_in_label(citation),
    ]
    return " — ".join(part for part in parts if part)


def also_in_label(citation: Citation) -> str | None:
    """The other outlets of a syndicated article: "also in: Outlet (date), …"."""
    names = [
        f"{copy.outlet or copy.source} ({copy.published[:10]})"
        if copy.published
        else copy.outlet or copy.source
        for copy in citation.also_in
    ]
    return "also in: " + ", ".join(dict.fromkeys(names)) if names else None


def _quote(text: str) -> str:
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1].rstrip() + "…"


def answer_of_reply(text: str) -> str:
    """The answer part of a reply formatted here, as a client sends it back in its history:
    the checked answer if one followed the streamed text, without notes and sources (an
    answer is one paragraph; what follows it starts after a blank line)."""
    if f"\n\n{CHECKED_HEADING}\n" in text:
        text = text.split(f"\n\n{CHECKED_HEADING}\n", 1)[1]
    return text.split("\n\n", 1)[0]
