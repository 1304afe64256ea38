"""Mutated real files (truncated, bytes flipped, two files spliced...) never stop an ingest:
each goes in or is reported, the good files beside them are stored, and the store, the BM25
index and the sentence vectors stay in step. Each round also holds twins: two files that
differ as bytes but parse to the same text (two saves of one page), one stored, the other
reported as its copy. The RNG is seeded: a failure names its round and file, and
reproduces."""

import json
import logging
import random
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.pipeline import IngestPipeline
from ingest.report import IngestReport
from server.cli import app
from server.settings import Settings
from server.storage.lexical import LexicalIndex
from server.storage.sentence_vectors import SentenceVectorStore
from server.storage.store import ChunkStore
from tests.configured import configured_store
from tests.fakes import FakeEmbedder, fake_pipeline
from tests.pdfs import make_pdf, pdf_from_objects

SEED = 20261203
ROUNDS = 10
MUTANTS_A_ROUND = 40  # 400 mutants: ~10 s with the fake embedder and a real Chroma store
CORPUS_MD = Path(__file__).resolve().parents[1] / "corpus" / "nara-summit.md"
ARTICLE = " ".join(["The leaders met in Nara and agreed on closer defense ties."] * 6)


def flate_pdf(text: str) -> bytes:
    """A one-page PDF whose drawing instructions are compressed: flips reach zlib."""
    content = zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
            b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(content)
            + content
            + b"\nendstream",
        ]
    )


def seed_files() -> list[tuple[str, bytes]]:
    """Real inputs of every format the fuzz mutates (suffix, content)."""
    html = (
        "<html><head><title>Summit report</title>"
        '<meta name="date" content="2024-05-01"></head><body><nav><ul><li>Home</li></ul></nav>'
        f"<article><h1>Summit report</h1><p>{ARTICLE}</p><ul><li>Trade</li></ul></article>"
        "</body></html>"
    )
    jsonl = (
        '{"_id": "d1", "title": "Caf\\u00e9 talks", "text": "Leaders met \\ud83d\\ude00 in Nara.",'
        ' "metadata": {"year": 2024, "tags": ["a"]}}\n'
        '{"_id": "d2", "text": "Defense ties were agreed. Trade talks continue."}\n'
    )
    front = '---\ntitle: "Nara summit"\ndate: 2024-05-01\noutlet: wire\n---\n'
    return [
        (".md", front.encode() + CORPUS_MD.read_bytes()),
        (".pdf", make_pdf(["First page of the statement.", "Second page, more text."])),
        (".pdf", flate_pdf("A compressed page about the summit.")),
        (".html", html.encode()),
        (".jsonl", jsonl.encode()),
    ]


def mutate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    cut = rng.randrange(len(data))
    kind = rng.randrange(5)
    if kind == 0:  # truncated
        return data[:cut]
    if kind == 1:  # bytes flipped
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 32)):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        return bytes(flipped)
    if kind == 2:  # two files spliced
        return data[:cut] + other[rng.randrange(len(other)) :]
    if kind == 3:  # a stretch repeated
        end = rng.randrange(cut, len(data) + 1)
        return data[:cut] + data[cut:end] * rng.randint(2, 4) + data[end:]
    edited = bytearray(data)  # delimiters inserted and stretches deleted
    for _ in range(rng.randint(1, 16)):
        at = rng.randrange(len(edited))
        if rng.random() < 0.5:
            del edited[at : at + rng.randint(1, 8)]
        else:
            edited[at:at] = bytes([rng.choice(b'0123456789<>/[](){}R"\\:\n%-')])
    return bytes(edited)


def write_mutants(rng: random.Random, folder: Path, count: int) -> list[Path]:
    seeds = seed_files()
    paths = []
    for number in range(count):
        suffix, data = rng.choice(seeds)
        path = folder / f"mutant{number:03d}{suffix}"
        path.write_bytes(mutate(rng, data, rng.choice(seeds)[1]))
        paths.append(path)
    return paths


# Markup that parses to the same text as the seed's: two saves of one page.
TWIN_EDITS = [
    ("</nav>", "</Qav>"),  # a broken closing tag
    ("</p>", "</p</>"),
    ("<li>Home</li>", "<li>Home"),  # an unclosed item
]


def write_twins(rng: random.Random, folder: Path, count: int) -> list[Path]:
    """Pairs of HTML files that parse to the same text, each pair its own article."""
    html = next(data for suffix, data in seed_files() if suffix == ".html").decode()
    words = "leaders ministers met agreed trade harbour budget railway energy talks city".split()
    paths = []
    for number in range(count):
        body = " ".join(rng.choice(words) for _ in range(60)).capitalize() + "."
        page = html.replace(ARTICLE, body)
        old, new = rng.choice(TWIN_EDITS)
        for twin, text in enumerate([page, page.replace(old, new, 1)]):
            path = folder / f"twin{number:02d}{'ab'[twin]}.html"
            path.write_text(text)
            paths.append(path)
    return paths


def write_good_files(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "good.md").write_text("# Good\n\nThe harbour budget was doubled this spring.\n")
    (folder / "good.pdf").write_bytes(make_pdf(["The railway bridge opens in autumn."]))
    return [folder / "good.md", folder / "good.pdf"]


def unaccounted(report: IngestReport, stored: set[str], paths: list[Path]) -> list[str]:
    """The files neither stored nor reported: skipped (whole, or a line or page of them), or
    a copy or near copy of another file (two mutants can say the same)."""
    told = {s.path.split("#")[0].rsplit(":", 1)[0] for s in report.skipped}
    told |= {s.path for s in report.skipped} | {d.path for d in report.duplicates}
    told |= {n.path for n in report.near_duplicates}
    return [p.name for p in paths if str(p) not in stored | told]


@pytest.fixture
def pipeline(tmp_path: Path, vectors: SentenceVectorStore) -> IngestPipeline:
    return fake_pipeline(tmp_path, FakeEmbedder(64), 256, vectors, copies=True)


def in_step(store: ChunkStore, lexical: Path, vectors: SentenceVectorStore) -> bool:
    index = LexicalIndex.load(lexical)
    version = store.version()
    return index is not None and index.version == version == vectors.complete_for()


def test_hundreds_of_mutated_files_never_stop_the_ingest_nor_cost_the_good_files(
    pipeline: IngestPipeline,
    vectors: SentenceVectorStore,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)  # a library record reaching the root would be stderr
    rng = random.Random(SEED)
    good = write_good_files(tmp_path / "good")
    for round_number in range(ROUNDS):
        folder = tmp_path / f"round{round_number}"
        folder.mkdir()
        mutants = write_mutants(rng, folder, MUTANTS_A_ROUND)
        twins = write_twins(rng, folder, 2)
        try:
            report = pipeline.ingest([folder, tmp_path / "good"])
        except Exception as exc:  # the round that failed, to rerun it alone
            raise AssertionError(f"round {round_number} (seed {SEED}) stopped: {exc!r}") from exc
        stored = pipeline.store.sources()
        assert {str(p) for p in good} <= stored, f"round {round_number}"
        assert unaccounted(report, stored, mutants + twins) == [], f"round {round_number}"
        assert sum(str(t) in stored for t in twins) == len(twins) // 2, f"round {round_number}"
        assert in_step(pipeline.store, tmp_path / "store" / "lexical", vectors)
    assert capsys.readouterr().err == ""
    assert [r.getMessage() for r in caplog.records] == []


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.e2e
def test_summit_ingest_of_mutants_beside_good_files_stores_the_good_ones(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    folder = tmp_path / "mixed"
    good = write_good_files(folder)
    mutants = write_mutants(random.Random(SEED + 1), folder, 12)
    store = tmp_path / "store"
    code, out, err = run("ingest", str(folder), "--json", "--store", str(store))
    assert (code, err) == (0, "")
    assert [r.getMessage() for r in caplog.records] == []
    report = json.loads(out)
    told = {s["path"] for s in report["skipped"]} | {d["path"] for d in report["duplicates"]}
    told |= {n["path"] for n in report["near_duplicates"]}
    stored = configured_store(Settings.of(store=store)).sources()
    assert {str(p) for p in good} <= stored
    assert all(any(t.startswith(str(p)) for t in told | stored) for p in mutants)
    assert all(w["path"] in {str(p) for p in mutants} for w in report["warnings"])
