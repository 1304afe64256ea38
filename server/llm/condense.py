"""Turning a follow-up into a standalone question: by rule, or by the language model."""

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from server.answers.question import content_terms
from server.contract import Turn

if TYPE_CHECKING:
    from server.llm.chat_models import ReplyStream
    from server.prompts import PromptLibrary

_ELLIPTICAL_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|what else|and what|why so|why not|"
    r"anything else|more on|tell me more)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(they|them|their|theirs|it|its|he|him|his|she|her|this|that|these|those|"
    r"there|the two|both)\b",
    re.IGNORECASE,
)
_SHORT = 2  # content terms: fewer than this and a question cannot stand alone
# Words of a joined question: ~160 word pieces of English, inside the embedding model's 256,
# so earlier questions never push the newest one past what the model reads.
MAX_STANDALONE_WORDS = 120


class RuleCondenser:
    """Condensing by rule: no model, no cost, good for questions that lean on one before."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        return standalone_question(question, history)


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question, joined to the previous question when it leans on the conversation.

    The previous question is itself made standalone first, so a chain of follow-ups keeps
    the subject of the question that started it.
    """
    previous: str | None = None
    for turn in history:
        if turn.role == "user" and turn.content.strip():
            previous = _join(previous, turn.content)
    return _join(previous, question)


def _join(previous: str | None, question: str) -> str:
    """The question after as much of the earlier context as fits (its opening kept: it
    names the subject of the conversation)."""
    if previous is None or not leans_on_context(question):
        return question.strip()
    room = MAX_STANDALONE_WORDS - len(question.split())
    if room <= 0:
        return question.strip()
    context = " ".join(previous.split()[:room])
    return f"{context} {question.strip()}"


def leans_on_context(question: str) -> bool:
    return bool(
        _ELLIPTICAL_START.search(question)
        or _ANAPHORA.search(question)
        or len(content_terms(question)) < _SHORT
    )


class ModelCondenser:
    """Condensing by the language model, which resolves references a rule cannot
    ("her hometown", "the second agreement"); the rule answers when the model fails."""

    _TURNS = 6  # the latest messages the model reads; older ones rarely hold the referent
    _TURN_CHARS = 600  # an earlier answer is cut to this: its opening names the subject

    def __init__(self, replies: "ReplyStream", prompts: "PromptLibrary", max_chars: int) -> None:
        self._replies = replies
        self._prompts = prompts
        self._max_chars = max_chars

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        if not any(turn.role == "user" for turn in history):
            return question.strip()
        from langchain_core.messages import HumanMessage

        from server.llm.chat_models import GenerationError

        prompt = self._prompts.render(
            "llm_condense", conversation=self._conversation(history), question=question
        )
        try:
            reply = self._replies.complete([HumanMessage(prompt)])
        except GenerationError:
            return standalone_question(question, history)
        rewritten = _first_line(reply)
        too_long = len(rewritten) > self._max_chars or (
            len(rewritten.split()) > max(MAX_STANDALONE_WORDS, len(question.split()))
        )
        if not rewritten or too_long:
            return standalone_question(question, history)
        return rewritten

    def _conversation(self, history: Sequence[Turn]) -> str:
        """Each turn JSON-quoted, so a message cannot pass for instructions."""
        lines = []
        for turn in list(history)[-self._TURNS :]:
            content = " ".join(turn.content.split())[: self._TURN_CHARS]
            lines.append(f"{turn.role}: {json.dumps(content, ensure_ascii=False)}")
        return "\n".join(lines).replace("<", "\\u003c")


def _first_line(reply: str) -> str:
    """The question the model wrote, without a label or quotes it may have added."""
    for line in reply.splitlines():
        line = re.sub(r"^\s*(standalone question|question)\s*:\s*", "", line, flags=re.I)
        line = line.strip().strip("\"'“”").strip()
        if line:
            return line
    return ""
