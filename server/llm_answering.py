"""Answers written by a language model, every sentence checked against what it cites.

The model sees the retrieved passages as numbered, JSON-quoted data and the question; its
reply streams out as it is written. The finished reply is verified: unsupported sentences
are dropped (and listed), markers to missing passages removed. When the model fails, or
nothing it wrote is supported, the extractive answer is given with a notice instead.
"""

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from server.answering import ExtractiveAnswerer, citation_of, passage_context
from server.chat_models import GenerationError, ReplyStream
from server.grounding import CitationVerifier
from server.models import Answer, AnswerEvent, CitationsEvent, DeltaEvent, DoneEvent
from server.prompts import PromptLibrary
from server.retrieval import Passage, Retrieval

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
        reply, shown = "", 0
        try:
            for piece in self._replies.stream(self._messages(standalone, passages)):
                reply += piece
                if not _may_be_no_answer(reply):
                    yield DeltaEvent(text=reply[shown:])
                    shown = len(reply)
        except GenerationError:
            yield DoneEvent(answer=self._fallback_answer(question, standalone, retrieval))
            return
        yield DoneEvent(answer=self._checked(question, standalone, retrieval, reply))

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


def _may_be_no_answer(reply: str) -> bool:
    """The reply so far may still become the no-answer token: hold it back from the stream."""
    return NO_ANSWER_TOKEN.startswith(_bare(reply))


def _is_no_answer(reply: str) -> bool:
    return _bare(reply) == NO_ANSWER_TOKEN


def _bare(reply: str) -> str:
    return reply.strip().rstrip(".").strip()
