"""An answer as a Slack message: mrkdwn text with [n] markers, a Sources section in Block
Kit, 👍/👎 buttons, and a plain-text fallback for notifications. A streamed answer's text
is streamed; the blocks after it close the message."""

from typing import Any

from server.contract import Answer, Citation
from server.plaintext import (
    SHORT_ANSWER_SEPARATOR,
    answer_as_text,
    check_notes,
    citation_label,
    sources_heading,
)

_QUOTE_CHARS = 280
_SECTION_CHARS = 2900  # Slack refuses section text over 3,000 characters
_FALLBACK_CHARS = 3500


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


FEEDBACK_ACTION = "summit_feedback"  # the action id of the 👍/👎 buttons
Block = dict[str, Any]


def answer_message(answer: Answer, answer_id: str | None = None) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage or a response_url; with the id the answer
    is kept under, its 👍/👎 buttons."""
    blocks = [_section(_answer_text(answer)), *closing_blocks(answer, answer_id)]
    return {"text": _shorten(answer_as_text(answer), _FALLBACK_CHARS), "blocks": blocks}


def closing_blocks(answer: Answer, answer_id: str | None) -> list[Block]:
    """What follows the answer's text: the checks' notes, the sources, the buttons."""
    blocks = [_context(f"_{escape(note)}_") for note in check_notes(answer)]
    if answer.citations:
        blocks += [{"type": "divider"}, _context(f"*{sources_heading(answer)}*")]
        blocks += [_section(_citation_text(c)) for c in answer.citations]
    if answer_id is not None:
        blocks.append(feedback_block(answer_id))
    return blocks


def feedback_block(answer_id: str) -> Block:
    """Slack's feedback buttons; each carries the rating and the kept answer's id."""
    buttons = {
        "type": "feedback_buttons",
        "action_id": FEEDBACK_ACTION,
        "positive_button": _feedback_button("👍", "Mark this answer as right", f"up:{answer_id}"),
        "negative_button": _feedback_button("👎", "Mark this answer as wrong", f"down:{answer_id}"),
    }
    return {"type": "context_actions", "elements": [buttons]}


def _feedback_button(emoji: str, label: str, value: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": emoji},
        "accessibility_label": label,
        "value": value,
    }


def _answer_text(answer: Answer) -> str:
    """The answer in mrkdwn, its leading short answer in bold."""
    short = answer.short_answer
    lead = f"*{escape(short)}*{SHORT_ANSWER_SEPARATOR}" if short else ""
    return lead + escape(answer.answer)


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
