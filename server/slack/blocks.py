"""An answer as a Slack message: mrkdwn text with [n] markers, a Sources section in Block
Kit, and a plain-text fallback for notifications."""

from typing import Any

from server.models import Answer, Citation
from server.plaintext import (
    SHORT_ANSWER_SEPARATOR,
    answer_as_text,
    check_notes,
    citation_label,
    sources_heading,
    split_short_answer,
)

_QUOTE_CHARS = 280
_SECTION_CHARS = 2900  # Slack refuses section text over 3,000 characters
_FALLBACK_CHARS = 3500


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_message(answer: Answer) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage or a response_url."""
    blocks: list[dict[str, Any]] = [_section(_answer_text(answer))]
    blocks += [_context(f"_{escape(note)}_") for note in check_notes(answer)]
    if answer.citations:
        blocks += [{"type": "divider"}, _context(f"*{sources_heading(answer)}*")]
        blocks += [_section(_citation_text(c)) for c in answer.citations]
    return {"text": _shorten(answer_as_text(answer), _FALLBACK_CHARS), "blocks": blocks}


def _answer_text(answer: Answer) -> str:
    """The answer in mrkdwn, its leading short answer in bold."""
    short, rest = split_short_answer(answer)
    lead = f"*{escape(short)}*{SHORT_ANSWER_SEPARATOR}" if short else ""
    return lead + escape(rest)


def notice_message(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [_section(escape(text))]}


def _citation_text(citation: Citation) -> str:
    quote = escape(_shorten(" ".join(citation.text.split()), _QUOTE_CHARS))
    return f"*[{citation.n}]* {escape(citation_label(citation))}\n>{quote}"


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _shorten(mrkdwn, _SECTION_CHARS)}}


def _context(mrkdwn: str) -> dict[str, Any]:
    text = _shorten(mrkdwn, _SECTION_CHARS)
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
