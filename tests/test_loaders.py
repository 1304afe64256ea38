import json
from pathlib import Path

import pytest

from ingest import pdf_loader
from ingest.loaders import load_file
from ingest.source_files import LoadError
from tests.pdfs import make_pdf, pdf_from_objects

SKIPS: list[tuple[str, str]] = []


def load(path: Path) -> list:  # type: ignore[type-arg]
    return load_file(path, lambda where, why: SKIPS.append((where, why)))


def test_markdown_keeps_front_matter_title_and_heading_sections(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text('---\ntitle: "Talks"\nsource: wire\n---\n## One\nFirst.\n\n## Two\nSecond.\n')
    [doc] = load(path)
    assert doc.title == "Talks"
    assert doc.metadata == {"source": "wire"}
    assert [(b.section, b.text.strip()) for b in doc.blocks] == [
        ("One", "First."),
        ("Two", "Second."),
    ]


def test_bundled_corpus_has_the_four_sections_verbatim() -> None:
    corpus = Path(__file__).parent.parent / "corpus" / "nara-summit.md"
    [doc] = load(corpus)
    assert [b.section for b in doc.blocks] == [
        "What's Happening?",
        "Why It's Important?",
        "What's Next?",
        "Beyond the Headlines",
    ]
    first = "The summit, held in Nara, Japan, focused on improving bilateral relations"
    assert first in doc.blocks[0].text


def test_html_keeps_article_text_and_title_not_menus(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    article = " ".join(["The leaders met in Nara and agreed on closer defense ties."] * 8)
    path.write_text(
        "<html><head><title>Summit report</title></head><body>"
        "<nav><ul><li>Home</li><li>Subscribe now</li><li>Sports</li></ul></nav>"
        f"<article><h1>Summit report</h1><p>{article}</p></article>"
        "<footer>Copyright notice and cookie settings</footer></body></html>"
    )
    [doc] = load(path)
    text = " ".join(b.text for b in doc.blocks)
    assert doc.title == "Summit report"
    assert "agreed on closer defense ties" in text
    assert "Subscribe now" not in text and "cookie settings" not in text


def test_pdf_keeps_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_pdf(["First page text.", "Second page text."]))
    [doc] = load(path)
    assert [(b.page, b.text.strip()) for b in doc.blocks] == [
        (1, "First page text."),
        (2, "Second page text."),
    ]


def _pdf_with_pages(tmp_path: Path, pages: list[str]) -> tuple[Path, list[tuple[str, str]]]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_pdf(pages))
    return path, []


def test_a_pdf_page_over_the_content_limit_is_left_out_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, skips = _pdf_with_pages(tmp_path, ["Short page.", "A much longer second page " * 9])
    monkeypatch.setattr(pdf_loader, "MAX_PDF_PAGE_CONTENT", 100)
    [doc] = load_file(path, lambda where, why: skips.append((where, why)))
    assert [b.page for b in doc.blocks] == [1]
    [(where, why)] = skips
    assert where == f"{path}#page=2" and "page left out" in why


def test_pdf_pages_past_the_whole_file_budget_are_left_out_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, skips = _pdf_with_pages(tmp_path, ["Page one text.", "Page two text.", "Page three."])
    monkeypatch.setattr(pdf_loader, "MAX_PDF_CONTENT", 60)  # a page is ~45 bytes
    [doc] = load_file(path, lambda where, why: skips.append((where, why)))
    assert [b.page for b in doc.blocks] == [1]
    assert [where for where, _ in skips] == [f"{path}#page=2"]
    assert "pages 2-3 left out" in skips[0][1]


def test_pdf_pages_left_out_still_count_against_the_whole_file_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, skips = _pdf_with_pages(tmp_path, ["Page one text.", "Page two text.", "Three.", "4."])
    monkeypatch.setattr(pdf_loader, "MAX_PDF_PAGE_CONTENT", 30)  # every page is over it
    monkeypatch.setattr(pdf_loader, "MAX_PDF_CONTENT", 100)  # two pages' worth
    with pytest.raises(LoadError):  # no page left: nothing to ingest
        load_file(path, lambda where, why: skips.append((where, why)))
    assert [where for where, _ in skips] == [f"{path}#page={n}" for n in (1, 2, 3)]
    assert "pages 3-4 left out" in skips[2][1]


def test_a_pdf_page_drawing_a_form_many_times_counts_each_drawing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = b"BT /F1 12 Tf 72 720 Td (Form text.) Tj ET"
    drawings = b"/Fm1 Do " * 100
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R "
        b"/Resources << /Font << /F1 3 0 R >> /XObject << /Fm1 6 0 R >> >> >>"
    )
    path = tmp_path / "forms.pdf"
    path.write_bytes(
        pdf_from_objects(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
                b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
                page,
                b"<< /Length %d >>\nstream\n%s\nendstream" % (len(drawings), drawings),
                b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] "
                b"/Resources << /Font << /F1 3 0 R >> >> /Length %d >>\nstream\n%s\nendstream"
                % (len(form), form),
            ]
        )
    )
    monkeypatch.setattr(pdf_loader, "MAX_PDF_PAGE_CONTENT", 2_000)  # the page alone is 800
    skips: list[tuple[str, str]] = []
    with pytest.raises(LoadError):
        load_file(path, lambda where, why: skips.append((where, why)))
    assert [where for where, _ in skips] == [f"{path}#page=1"]


def test_a_pdf_of_more_pages_than_the_limit_is_skipped_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = _pdf_with_pages(tmp_path, ["One.", "Two.", "Three."])
    monkeypatch.setattr(pdf_loader, "MAX_PDF_PAGES", 2)
    with pytest.raises(LoadError, match="PDF of 3 pages, over the 2 limit"):
        load(path)


def test_jsonl_reads_beir_records_and_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    rows = [
        {"_id": "d1", "title": "T1", "text": "Alpha text.", "metadata": {"year": 2020, "x": [1]}},
        {"id": 7, "text": "Beta text."},
    ]
    path.write_text(
        "\n".join([json.dumps(rows[0]), "{not json", json.dumps(rows[1]), '{"_id": "x"}'])
    )
    SKIPS.clear()
    docs = load(path)
    assert [(d.doc_id, d.title) for d in docs] == [("d1", "T1"), ("7", None)]
    assert docs[0].metadata == {"meta_year": 2020}
    assert [where for where, _ in SKIPS] == [f"{path}:2", f"{path}:4"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"   \n", "empty file"),
        ("binary.txt", b"abc\x00\x01\x02", "binary"),
        ("latin1.md", "café".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.4\nthis is not a pdf", "corrupt PDF"),
        ("fake.pdf", b"hello", "corrupt PDF"),
        (
            "filter.pdf",
            make_pdf(["Text."]).replace(b"<< /Length", b"<< /Filter /NoSuchDecode /Length"),
            "corrupt PDF",
        ),
        ("notes.docx", b"PK", "unsupported format"),
        ("all-bad.jsonl", b"{oops\n", "no valid JSON Lines record"),
    ],
)
def test_bad_files_raise_a_clear_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load(path)
