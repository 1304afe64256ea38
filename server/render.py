"""Terminal rendering of answers, search results and reports (rich)."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # importing these pulls in the model and store libraries
    from ingest.report import IngestReport
    from server.evaluation import QAOutcome, QAReport, Rate
    from server.models import Answer, AnswerEvent, Citation, SearchResponse, StoreStatus
    from server.retrieval_eval import RetrievalReport


def print_answer(console: Console, answer: "Answer") -> None:
    from server.plaintext import SHORT_ANSWER_SEPARATOR, split_short_answer

    short, rest = split_short_answer(answer)
    lead = f"[bold]{escape(short)}[/bold]{SHORT_ANSWER_SEPARATOR}" if short else ""
    console.print(lead + escape(rest))
    _print_after_text(console, answer)


def print_answer_stream(console: Console, events: "Iterable[AnswerEvent]") -> "Answer":
    """The answer's text as it is written, then its checked form if that differs."""
    from server.models import DeltaEvent, DoneEvent
    from server.plaintext import CHECKED_HEADING

    for event in events:
        if isinstance(event, DeltaEvent):
            console.print(escape(event.text), end="")
            console.file.flush()
        elif isinstance(event, DoneEvent):
            console.print()
            if event.revised:
                console.print(f"\n[bold]{CHECKED_HEADING}[/bold]")
                console.print(escape(event.answer.answer))
            _print_after_text(console, event.answer)
            return event.answer
    raise RuntimeError("the answer stream ended without its answer")


def _print_after_text(console: Console, answer: "Answer") -> None:
    from server.plaintext import check_notes

    for note in check_notes(answer):
        console.print(f"[yellow]{escape(note)}[/yellow]")
    if answer.citations:
        heading = "Sources" if answer.answered else "Closest passages"
        console.print(f"\n[bold]{heading}[/bold]")
        for citation in answer.citations:
            _print_citation(console, citation)


def _print_citation(console: Console, citation: "Citation") -> None:
    from server.plaintext import citation_label

    console.print(f"[bold]\\[{citation.n}][/bold] {escape(citation_label(citation))}")
    console.print(f"    [dim]“{escape(citation.text)}”[/dim]")


def print_search(console: Console, response: "SearchResponse") -> None:
    if not response.results:
        console.print("No passages match.")
    for rank, result in enumerate(response.results, start=1):
        where = " — ".join(p for p in [result.title or result.source, result.section] if p)
        console.print(f"[bold]{rank}.[/bold] {escape(where)} [dim](score {result.score:.4f})[/dim]")
        console.print(f"    {escape(result.text)}")


def print_ingest_report(console: Console, report: "IngestReport") -> None:
    moved = f", {report.moved} moved" if report.moved else ""
    console.print(
        f"Documents: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed{moved}. "
        f"The store holds {report.chunks} passages."
    )
    for copy in report.duplicates:
        count = "1 document" if copy.documents == 1 else f"{copy.documents} documents"
        console.print(
            f"[dim]duplicate[/dim] {escape(copy.path)}: {count} already stored from "
            f"{escape(copy.of)}, not added again"
        )
    for skipped in report.skipped:
        console.print(f"[yellow]skipped[/yellow] {escape(skipped.path)}: {escape(skipped.reason)}")
    for warned in report.warnings:
        console.print(f"[dim]warning[/dim] {escape(warned.path)}: {escape(warned.message)}")


def print_status(console: Console, status: "StoreStatus") -> None:
    console.print(f"Store:           {escape(status.store)}")
    console.print(f"Documents:       {status.documents}")
    console.print(f"Passages:        {status.chunks}")
    console.print(f"Embedding model: {escape(status.embedding_model)}")


def print_qa_report(console: Console, report: "QAReport") -> None:
    console.print(
        f"Questions: {report.questions} ({report.answerable} answerable), "
        f"answer threshold {report.threshold:.3f}"
    )
    console.print(f"Right (of answerable):     {_rate(report.right)}")
    console.print(f"Precision (right/answered): {_rate(report.precision)}")
    console.print(f"Wrong: {report.wrong}   Refused: {report.refused}")
    if report.refusal is not None:
        console.print(f"Refused, unanswerable:     {_rate(report.refusal)}")
    for kind, rate in report.refusal_by_kind.items():
        console.print(f"  refused, {escape(kind)}: {_rate(rate)}")
    if report.negative_rejection is not None:
        console.print(f"Refused without the answer's documents: {_rate(report.negative_rejection)}")
    console.print("Risk-coverage (answerable questions, most confident first):")
    console.print(
        f"  {'threshold':>9} {'answered':>9} {'coverage':>9} {'right':>6} {'precision':>9}"
    )
    for row in report.risk_coverage:
        console.print(
            f"  {row.threshold:>9.3f} {row.answered:>9} {row.coverage:>9.1%} {row.right:>6} "
            f"{row.precision:>9.1%}"
        )
    console.print(f"Latency p50 / p95: {report.latency_p50_ms} / {report.latency_p95_ms} ms")
    for outcome in report.outcomes:
        verdict = _miss(outcome)
        if verdict is not None:
            console.print(
                f"[yellow]{verdict}[/yellow] ({escape(outcome.kind)}): {escape(outcome.question)}"
            )


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
    console.print(
        f"{escape(report.dataset)}: {report.queries} queries, {report.documents} documents, "
        f"{report.chunks} passages"
    )
    reused = "reused, nothing embedded" if report.store_reused else "ingested"
    console.print(f"Store: {escape(report.store)} ({reused}, {report.ingest_seconds} s)")
    console.print(f"{'method':<8} {'nDCG@10':>8} {'R@100':>8} {'MRR@10':>8} {'seconds':>8}")
    for method, scores in report.methods.items():
        console.print(
            f"{method:<8} {scores.ndcg_at_10:>8.4f} {scores.recall_at_100:>8.4f} "
            f"{scores.mrr_at_10:>8.4f} {scores.seconds:>8.1f}"
        )
