"""Answers written by a language model, every sentence checked against what it cites.

The model sees the retrieved passages as numbered, JSON-quoted data and the question; its
reply streams out as it is written. The finished reply is verified: unsupported sentences
are dropped (and listed), markers to missing passages removed. When the model fails, or
nothing it wrote is supported, the extractive answer is given with a notice instead.
"""

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from server.answers.extractive import ExtractiveAnswerer
from server.answers.pieces import citation_of, text_pieces
from server.contract import Answer, AnswerEvent, CitationsEvent, DeltaEvent, DoneEvent
from server.llm.chat_models import GenerationError, ReplyStream
from server.llm.grounding import CitationVerifier, parse_claims
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

# What the model replies when the passages do not hold the answer (prompts/llm_system.txt).
NO_ANSWER_TOKEN = "NOT_IN_DOCUMENTS"


class LlmAnswerer:
    def __init__(
        self,
        replies: ReplyStream,
        prompts: PromptLibrary,
        verifier: CitationVerifier,
        fallback: ExtractiveAnswerer,
    ) -> None:
        self._replies = replies
        self._prompts = prompts
        self._verifier = verifier
        self._fallback = fallback

    @property
    def passages_read(self) -> int:
        return self._fallback.passages_read

    def stream(self, question: str, standalone: str, retrieval: Retrieval) -> Iterator[AnswerEvent]:
        """The passages shown to the model, its reply as it comes, then the checked answer."""
        passages = retrieval.passages[: self.passages_read]
        if not passages:  # nothing to write from: the extractive answer says so
            yield from self._fallback.stream(question, standalone, retrieval)
            return
        yield CitationsEvent(
            answered=True, citations=[citation_of(n, p) for n, p in enumerate(passages, start=1)]
        )
        reply, shown = "", ""
        try:
            for piece in self._replies.stream(self._messages(standalone, passages)):
                reply += piece
                if shown or not _may_be_no_answer(reply):
                    yield DeltaEvent(text=reply[len(shown) :])
                    shown = reply
        except GenerationError:
            answer = self._fallback_answer(question, standalone, retrieval)
        else:
            answer = self._checked(question, standalone, retrieval, reply)
        yield from _finish(answer, shown)

    def _messages(self, question: str, passages: list[Passage]) -> "list[BaseMessage]":
        from langchain_core.messages import HumanMessage, SystemMessage

        system = self._prompts.render("llm_system", no_answer_token=NO_ANSWER_TOKEN)
        user = self._prompts.render(
            "llm_answer",
            passages=quoted_passages(passages),
            question=question,
            no_answer_token=NO_ANSWER_TOKEN,
        )
        return [SystemMessage(system), HumanMessage(user)]

    def _checked(self, question: str, standalone: str, retrieval: Retrieval, reply: str) -> Answer:
        passages = retrieval.passages[: self.passages_read]
        if not reply.strip():
            return self._fallback_answer(question, standalone, retrieval)
        if _is_no_answer(reply):
            refusal = self._fallback.no_answer(question, retrieval.passages)
            return refusal.model_copy(update={"mode": "llm"})
        verification = self._verifier.verify(reply, [passage_context(p) for p in passages])
        if not verification.kept:
            return self._fallback_answer(
                question, standalone, retrieval, "llm_unsupported", verification.dropped
            )
        return Answer(
            question=question,
            answer=verification.text(),
            answered=True,
            # Numbered as the model saw them, so the markers it streamed stay right.
            citations=[citation_of(n, passages[n - 1]) for n in sorted(verification.cited())],
            mode="llm",
            dropped=verification.dropped,
        )

    def _fallback_answer(
        self,
        question: str,
        standalone: str,
        retrieval: Retrieval,
        notice: str = "llm_unavailable",
        dropped: list[str] | None = None,
    ) -> Answer:
        answer = self._fallback.answer(question, standalone, retrieval)
        return answer.model_copy(
            update={"notice": self._prompts.render(notice), "dropped": dropped or []}
        )


def quoted_passages(passages: list[Passage]) -> str:
    """One line a passage: its number, then a JSON object. JSON quoting keeps a passage's
    text from ending the block or passing for instructions ("<" is escaped as well)."""
    lines = []
    for n, passage in enumerate(passages, start=1):
        chunk = passage.chunk
        record = {
            "document": chunk.title or chunk.source,
            "section": chunk.section,
            "page": chunk.page,
            "text": chunk.text,
        }
        quoted = json.dumps({k: v for k, v in record.items() if v}, ensure_ascii=False)
        lines.append(f"[{n}] " + quoted.replace("<", "\\u003c"))
    return "\n".join(lines)


def _finish(answer: Answer, streamed: str) -> Iterator[AnswerEvent]:
    """The last events: the answer spelled out if nothing was streamed (a refusal, or the
    model failed at once), else whether it differs from what was streamed. The extractive
    answer a failed model falls back to has a short answer the first citations could not
    announce: its own citations event comes first."""
    if not streamed.strip():
        if answer.short_answer:
            yield CitationsEvent(
                answered=answer.answered,
                citations=answer.citations,
                short_answer=answer.short_answer,
            )
        yield from (DeltaEvent(text=piece) for piece in text_pieces(answer.answer))
        yield DoneEvent(answer=answer)
        return
    said = [(claim.text, claim.cited) for claim in parse_claims(streamed)]
    kept = [(claim.text, claim.cited) for claim in parse_claims(answer.answer)]
    yield DoneEvent(answer=answer, revised=said != kept)


def _may_be_no_answer(reply: str) -> bool:
    """The reply so far is, or may still become, the no-answer token: hold it back."""
    bare = _bare(reply)
    return NO_ANSWER_TOKEN.startswith(bare) or bare.startswith(NO_ANSWER_TOKEN)


def _is_no_answer(reply: str) -> bool:
    """The token, however dressed: bold, quoted, lower case, or followed by a sentence."""
    return _bare(reply).startswith(NO_ANSWER_TOKEN)


def _bare(reply: str) -> str:
    return re.sub(r"[^A-Z_]", "", reply.upper())


def passage_context(passage: Passage) -> str:
    """The passage with its title and section: what the words of an answer may come from."""
    chunk = passage.chunk
    return " ".join(filter(None, [chunk.title, chunk.section, chunk.text]))
