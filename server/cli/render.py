"""Terminal rendering of answers, search results and reports (rich).

Every line is built as `rich.text.Text` from its parts, never as a markup string: documents,
file names and messages hold square brackets ([1], [draft]), :emoji: codes and backslashes
that rich would otherwise read as markup and change.
"""

import datetime
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:  # importing these pulls in the model and store libraries
    from pathlib import Path

    from ingest.report import IngestReport
    from server.contract import Answer, AnswerEvent, Citation, SearchResponse, StoreStatus
    from server.evaluation.answer_quality import QAOutcome, QAReport, Rate
    from server.evaluation.retrieval_quality import RetrievalReport
    from server.feedback import Rated

# A part of a line: plain text, or (text, style) with a rich style such as "bold".
Part = str | tuple[str, str]


def _say(console: Console, *parts: Part, end: str = "\n") -> None:
    console.print(Text.assemble(*parts), end=end)


def print_error(console: Console, message: str) -> None:
    """One error line: "error:" in red, then the message as written."""
    _say(console, ("error:", "red"), " ", message)


def print_text(console: Console, text: str) -> None:
    """A message (a notice, a prompt's text) as written."""
    _say(console, text)


def _short_answer_lead(short: str | None) -> "list[Part]":
    from server.plaintext import SHORT_ANSWER_SEPARATOR

    return [(short, "bold"), SHORT_ANSWER_SEPARATOR] if short else []


def print_answer_stream(console: Console, events: "Iterable[AnswerEvent]") -> "Answer":
    """The answer's text as it is written, then its checked form if that differs."""
    from server.contract import CitationsEvent, DeltaEvent, DoneEvent
    from server.plaintext import CHECKED_HEADING

    for event in events:
        if isinstance(event, CitationsEvent) and event.short_answer:
            _say(console, *_short_answer_lead(event.short_answer), end="")
        elif isinstance(event, DeltaEvent):
            _say(console, event.text, end="")
            console.file.flush()
        elif isinstance(event, DoneEvent):
            console.print()
            if event.revised:
                console.print()
                _say(console, (CHECKED_HEADING, "bold"))
                _say(console, *_short_answer_lead(event.answer.short_answer), event.answer.answer)
            _print_after_text(console, event.answer)
            return event.answer
    raise RuntimeError("the answer stream ended without its answer")


def _shown_answer(answer: "Answer") -> str:
    """The answer as people saw it: its short answer first. Answers kept before the short
    answer became a field of its own carry it in their text already."""
    from server.plaintext import short_answer_lead

    lead = short_answer_lead(answer.short_answer)
    return answer.answer if answer.answer.startswith(lead) else lead + answer.answer


def _print_after_text(console: Console, answer: "Answer") -> None:
    from server.plaintext import check_notes, sources_heading

    for note in check_notes(answer):
        _say(console, (note, "yellow"))
    if answer.citations:
        console.print()
        _say(console, (sources_heading(answer), "bold"))
        for citation in answer.citations:
            _print_citation(console, citation)


def _print_citation(console: Console, citation: "Citation") -> None:
    from server.plaintext import citation_label

    _say(console, (f"[{citation.n}]", "bold"), " ", citation_label(citation))
    _say(console, "    ", (f"“{citation.text}”", "dim"))


def print_search(console: Console, response: "SearchResponse") -> None:
    if not response.results:
        _say(console, "No passages match.")
    for rank, result in enumerate(response.results, start=1):
        where = " — ".join(p for p in [result.title or result.source, result.section] if p)
        _say(console, (f"{rank}.", "bold"), f" {where} ", (f"(score {result.score:.4f})", "dim"))
        _say(console, f"    {result.text}")


def print_ingest_report(console: Console, report: "IngestReport") -> None:
    moved = f", {report.moved} moved" if report.moved else ""
    _say(
        console,
        f"Documents: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed{moved}. "
        f"The store holds {report.chunks} passages.",
    )
    if report.fetched or report.not_modified or report.entries_unchanged:
        _say(console, web_line(report))
    for copy in report.duplicates:
        count = "1 document" if copy.documents == 1 else f"{copy.documents} documents"
        _say(
            console,
            ("duplicate", "dim"),
            f" {copy.path}: {count} already stored from {copy.of}, not added again",
        )
    for near in report.near_duplicates:
        _say(
            console,
            ("copy", "dim"),
            f" {near.path}: a copy of {near.of} (similarity {near.similarity:.2f}), "
            "kept once, its outlet recorded",
        )
    for skipped in report.skipped:
        _say(console, ("skipped", "yellow"), f" {skipped.path}: {skipped.reason}")
    for warned in report.warnings:
        _say(console, ("warning", "dim"), f" {warned.path}: {warned.message}")


def web_line(report: "IngestReport") -> str:
    return (
        f"Web: {report.fetched} fetched, {report.not_modified} not modified (304), "
        f"{report.entries_unchanged} feed entries unchanged, {len(report.near_duplicates)} "
        "syndicated copies."
    )


def watch_printer(
    console: Console, as_json: bool
) -> Callable[[int, "IngestReport | None", str | None], None]:
    """One line a round of `summit watch` (JSON Lines with --json), flushed as it ends."""

    def said(number: int, report: "IngestReport | None", problem: str | None) -> None:
        moment = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        if as_json:
            print(
                json.dumps(
                    {
                        "round": number,
                        "at": moment,
                        "problem": problem,
                        "report": report.as_json() if report else None,
                    }
                ),
                flush=True,
            )
        elif report is None:
            _say(console, f"Round {number} at {moment}: ", ("failed", "red"), f" {problem}")
        else:
            _say(console, f"Round {number} at {moment}: {_round_summary(report)}")
            for skipped in report.skipped:
                _say(console, ("  skipped", "yellow"), f" {skipped.path}: {skipped.reason}")

    return said


def _round_summary(report: "IngestReport") -> str:
    return (
        f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged; "
        f"{report.fetched} fetched, {report.not_modified} not modified, "
        f"{len(report.near_duplicates)} copies, {len(report.skipped)} failed; "
        f"{report.chunks} passages."
    )


def print_status(console: Console, status: "StoreStatus") -> None:
    _say(console, f"Store:           {status.store}")
    _say(console, f"Documents:       {status.documents}")
    _say(console, f"Passages:        {status.chunks}")
    _say(console, f"Embedding model: {status.embedding_model}")


def print_feedback(console: Console, ratings: "list[Rated]", exported: "Path | None") -> None:
    """One block per rating: when, by whom, the question, the answer's first line, sources."""
    from server.plaintext import citation_label

    if not ratings:
        _say(console, "No answer has been rated yet.")
    for rated in ratings:
        mark = "👍" if rated.rating == "up" else "👎"
        _say(console, f"{mark} {rated.rated_at}  {rated.user}  ({rated.place})")
        _say(console, f"   Q: {rated.answer.question}")
        _say(console, f"   A: {_first_line(_shown_answer(rated.answer))}")
        for citation in rated.answer.citations:
            _say(console, f"   [{citation.n}] {citation_label(citation)}")
    if exported is not None:
        _say(console, f"Wrote {len(ratings)} question(s) to {exported}: fill in their answers.")


def _first_line(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def print_qa_report(console: Console, report: "QAReport") -> None:
    _say(
        console,
        f"Questions: {report.questions} ({report.answerable} answerable), "
        f"answer threshold {report.threshold:.3f}",
    )
    _say(console, f"Right (of answerable):     {_rate(report.right)}")
    _say(console, f"Precision (right/answered): {_rate(report.precision)}")
    _say(console, f"Wrong: {report.wrong}   Refused: {report.refused}")
    if report.refusal is not None:
        _say(console, f"Refused, unanswerable:     {_rate(report.refusal)}")
    for kind, rate in report.refusal_by_kind.items():
        _say(console, f"  refused, {kind}: {_rate(rate)}")
    if report.negative_rejection is not None:
        _say(console, f"Refused without the answer's documents: {_rate(report.negative_rejection)}")
    _say(console, "Risk-coverage (answerable questions, most confident first):")
    _say(
        console, f"  {'threshold':>9} {'answered':>9} {'coverage':>9} {'right':>6} {'precision':>9}"
    )
    for row in report.risk_coverage:
        _say(
            console,
            f"  {row.threshold:>9.3f} {row.answered:>9} {row.coverage:>9.1%} {row.right:>6} "
            f"{row.precision:>9.1%}",
        )
    _say(console, f"Latency p50 / p95: {report.latency_p50_ms} / {report.latency_p95_ms} ms")
    for outcome in report.outcomes:
        verdict = _miss(outcome)
        if verdict is not None:
            _say(console, (verdict, "yellow"), f" ({outcome.kind}): {outcome.question}")


def _miss(outcome: "QAOutcome") -> str | None:
    """How a scored question went wrong, or None when it went right (or is not scored)."""
    if outcome.kind == "unscored":
        return None
    if outcome.answerable:
        if not outcome.answered:
            return "refused"
        return None if outcome.right else "wrong"
    return "answered" if outcome.answered else None


def _rate(rate: "Rate") -> str:
    return (
        f"{rate.count}/{rate.total} = {rate.share:.1%} (95 % CI {rate.low:.1%} to {rate.high:.1%})"
    )


def print_retrieval_report(console: Console, report: "RetrievalReport") -> None:
    _say(
        console,
        f"{report.dataset}: {report.queries} queries, {report.documents} documents, "
        f"{report.chunks} passages",
    )
    reused = "reused, nothing embedded" if report.store_reused else "ingested"
    _say(console, f"Store: {report.store} ({reused}, {report.ingest_seconds} s)")
    _say(console, f"{'method':<8} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'seconds':>8}")
    for method, scores in report.methods.items():
        _say(
            console,
            f"{method:<8} {scores.ndcg_at_10:>8.4f} {scores.recall_at_100:>8.4f} "
            f"{scores.mrr_at_10:>8.4f} {scores.seconds:>8.1f}",
        )


def unexpected(exc: Exception) -> str:
    """The one line a failure that is not the user's gets (a bug, a library's own error)."""
    return (
        f"unexpected {type(exc).__name__}: {exc} "
        "(SUMMIT_DEBUG=1 shows the traceback; please report it)"
    )
