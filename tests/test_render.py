"""What the terminal shows: documents' and users' text exactly as written, whatever rich
would make of it as markup (tags, [n] markers, :emoji: codes, backslashes)."""

import io

from rich.console import Console

from ingest.pipeline import IngestReport, Skipped
from server.answers.pieces import answer_events
from server.cli import render
from server.contract import Answer, Citation, DeltaEvent, DoneEvent

TRICKY = r"Set [bold]x[/bold] as in [1], :warning: and C:\\"


def console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, highlight=False, soft_wrap=True), buffer


def citation(text: str) -> Citation:
    return Citation(
        n=1,
        doc_id="d",
        chunk_id="c",
        source="report[2024].md",
        title=None,
        section="[red]Notes[/red]",
        page=None,
        text=text,
        score=1.0,
    )


def test_a_streamed_answer_and_its_citation_are_printed_verbatim() -> None:
    pieces = ["Set [bold]x[/bold] as in [1], ", ":warning: and C:\\", "\\"]
    answer = Answer(
        question="q", answer="".join(pieces), answered=True, citations=[citation(TRICKY)]
    )
    out, buffer = console()
    events = [*(DeltaEvent(text=p) for p in pieces), DoneEvent(answer=answer, revised=False)]
    render.print_answer_stream(out, events)
    lines = buffer.getvalue().splitlines()
    assert lines[0] == TRICKY
    assert lines[-2:] == ["[1] report[2024].md — [red]Notes[/red]", f"    “{TRICKY}”"]


def test_a_whole_answer_is_printed_verbatim() -> None:
    answer = Answer(question="q", answer=TRICKY, answered=False, citations=[citation(TRICKY)])
    out, buffer = console()
    render.print_answer_stream(out, answer_events(answer))
    assert buffer.getvalue().splitlines()[0] == TRICKY
    assert f"    “{TRICKY}”" in buffer.getvalue().splitlines()


def test_a_streamed_answer_leads_with_its_short_answer() -> None:
    answer = Answer(
        question="q",
        answer="The talks were held in Nara. [1]",
        answered=True,
        citations=[citation("The talks were held in Nara.")],
        short_answer="Nara",
    )
    out, buffer = console()
    render.print_answer_stream(out, answer_events(answer))
    assert buffer.getvalue().splitlines()[0] == "Nara — The talks were held in Nara. [1]"


def test_the_ingest_report_names_skipped_files_verbatim() -> None:
    skipped = [
        Skipped(path="docs/report[2024].md", reason="empty file"),
        Skipped(path="docs/minutes :warning: [draft].md", reason=r"unreadable: C:\\"),
    ]
    out, buffer = console()
    render.print_ingest_report(out, IngestReport(skipped=skipped))
    assert buffer.getvalue().splitlines()[1:] == [
        "skipped docs/report[2024].md: empty file",
        r"skipped docs/minutes :warning: [draft].md: unreadable: C:\\",
    ]


def test_an_error_line_keeps_the_message_verbatim() -> None:
    out, buffer = console()
    render.print_error(out, "SUMMIT_LLM=openai needs it: pip install 'summit-assistant[openai]'")
    assert buffer.getvalue() == (
        "error: SUMMIT_LLM=openai needs it: pip install 'summit-assistant[openai]'\n"
    )


def test_a_syndicated_citation_names_its_other_outlets() -> None:
    from server.contract import Republished
    from server.plaintext import citation_label

    cited = citation("text").model_copy(
        update={
            "title": "Ferry deal",
            "section": "Ferry deal",  # a page's heading repeats its title: said once
            "outlet": "Wire",
            "published": "2026-11-20",
            "also_in": [
                Republished(
                    source="https://daily.example/f",
                    outlet="Daily",
                    published="2026-11-21T08:00:00Z",
                ),
                Republished(source="https://other.example/f"),
            ],
        }
    )
    assert citation_label(cited) == (
        "Ferry deal — Wire, 2026-11-20 — also in: Daily (2026-11-21), https://other.example/f"
    )


def test_also_in_metadata_that_is_not_a_copy_list_reads_as_none() -> None:
    from server.base.document_meta import also_in_of
    from server.base.documents import Chunk

    def chunk(value: str) -> Chunk:
        return Chunk("c", "d", "s", None, None, None, 0, "t", {"also_in": value})

    good = '[{"source": "https://a.example/x", "outlet": "A", "published": null}]'
    assert also_in_of(chunk(good)) == [("https://a.example/x", "A", None)]
    assert [
        also_in_of(chunk(bad)) for bad in ["not json", '{"source": 1}', '[1, {"outlet": "B"}]']
    ] == [[], [], []]
