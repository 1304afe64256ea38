"""The parts of following the news that need no server: sources files, feed parsing,
near-duplicate signatures and the watch loop."""

import random
from pathlib import Path

import pytest

from ingest.near_duplicates import (
    Copy,
    CopyFinder,
    Fingerprint,
    SignatureFile,
    copy_score,
    fingerprint,
    signature,
    similarity,
)
from ingest.report import IngestReport
from ingest.source_files import LoadError
from ingest.watching import follow
from ingest.web.feeds import parse_feed
from ingest.web.sources import SourcesError, from_arguments, read_sources_file
from server.errors import UnavailableError

LONG = "The leaders agreed to meet again before the end of the year in Seoul. " * 4


def test_a_toml_sources_file_names_feeds_pages_and_a_folder(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    path = tmp_path / "sources.toml"
    path.write_text(
        'feeds = ["https://example.org/rss"]\npages = ["http://example.org/a"]\nfolder = "notes"\n'
    )
    sources = read_sources_file(path)
    assert sources.feeds == ["https://example.org/rss"] and sources.pages == [
        "http://example.org/a"
    ]
    assert sources.paths == [(tmp_path / "notes").resolve()]


def test_a_yaml_sources_file_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("feeds:\n  - https://example.org/rss\nfolders: [a, b]\n")
    sources = read_sources_file(path)
    assert sources.feeds == ["https://example.org/rss"] and len(sources.paths) == 2


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.toml", "feeds = [", "not valid TOML"),
        ("s.yaml", "feeds: [", "not valid YAML"),
        ("s.toml", 'feed = ["https://x.org"]', "unknown key 'feed'"),
        ("s.toml", 'feeds = ["ftp://x.org/rss"]', "is not an http(s) URL"),
        ("s.toml", "feeds = [1]", "feeds must be a list of strings"),
        ("s.toml", "", "names no feeds, pages or folders"),
        ("s.yaml", "- a list", "expected keys feeds, pages, folders"),
    ],
)
def test_a_bad_sources_file_is_one_clear_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourcesError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_sources_file(path)


def test_a_missing_sources_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="no such sources file"):
        read_sources_file(tmp_path / "gone.toml")


def test_command_line_targets_are_urls_or_paths() -> None:
    sources = from_arguments(["corpus", "https://example.org/feed", "http:/not-a-url"])
    assert sources.urls == ["https://example.org/feed"]
    assert [str(p) for p in sources.paths] == ["corpus", "http:/not-a-url"]


def test_an_atom_feed_gives_links_dates_and_full_text() -> None:
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>Wire</title>
    <entry><title>Summit ends</title><link href="https://example.org/1"/>
    <updated>2026-11-02T10:00:00Z</updated><published>2026-11-01T09:30:00+01:00</published>
    <content type="html">&lt;p&gt;{LONG}&lt;/p&gt;</content></entry>
    <entry><title>Teaser only</title><link href="https://example.org/2"/>
    <summary>Short.</summary></entry></feed>"""
    feed = parse_feed(atom.encode())
    first, second = feed.entries
    assert feed.title == "Wire" and first.link == "https://example.org/1"
    assert (first.published, first.updated) == ("2026-11-01T08:30:00Z", "2026-11-02T10:00:00Z")
    assert first.text == LONG.strip() and second.text is None  # a teaser is not the article
    assert first.metadata("Wire") == {"published": "2026-11-01T08:30:00Z", "outlet": "Wire"}


@pytest.mark.parametrize("body", [b"<html><body>hello</body></html>", b"", b"\x00\xff garbage"])
def test_what_is_not_a_feed_says_so(body: bytes) -> None:
    with pytest.raises(LoadError, match="not an RSS or Atom feed"):
        parse_feed(body)


def words(seed: int, count: int = 300) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(["talks", "trade", "seoul", "tokyo", "visit", "deal", "press", "aid"])
            + str(rng.randrange(50)) for _ in range(count)]  # fmt: skip


def test_a_reprint_is_similar_and_another_story_is_not() -> None:
    story = words(1)
    reprint = ["By", "staff", "writers", *story[:-10], "Copyright", "2026"]
    assert similarity(signature(" ".join(story)), signature(" ".join(reprint))) > 0.8
    assert similarity(signature(" ".join(story)), signature(" ".join(words(2)))) < 0.1


def test_the_copy_finder_names_the_original_above_the_threshold() -> None:
    finder = CopyFinder(0.5)
    finder.add("wire", fingerprint(" ".join(words(1))))
    finder.add("other", fingerprint(" ".join(words(2))))
    found = finder.originals("paper", fingerprint(" ".join(words(1)[5:])))
    assert [source for _, source in found] == ["wire"]
    assert finder.originals("wire", fingerprint(" ".join(words(1)))) == []  # never its own copy


def test_a_short_story_with_a_new_headline_byline_and_closing_line_is_a_copy() -> None:
    story = words(4, 50)
    copy = ["Fleet", "lands", "record", "haul", "By", "staff", "Northern", "Daily", *story,
            "Northern", "Daily", "will", "follow", "the", "season"]  # fmt: skip
    stored, new = fingerprint(" ".join(story)), fingerprint(" ".join(copy))
    assert similarity(new.minhash, stored.minhash) < 0.8  # the whole texts' similarity misses it
    assert copy_score(new, stored) >= 0.8
    assert copy_score(stored, new) >= 0.8  # the story without them, after the copy: inside it


def test_a_story_that_grew_or_changed_is_not_a_copy() -> None:
    story = words(5, 70)
    grown = fingerprint(" ".join([*story, *words(6, 60)]))  # a developing story told at length
    assert copy_score(grown, fingerprint(" ".join(story))) < 0.8
    edited = list(story)
    for at in (10, 25, 40, 55):  # four figures changed in a short story
        edited[at] = "changed"
    assert copy_score(fingerprint(" ".join(edited)), fingerprint(" ".join(story))) < 0.8


def test_a_signature_saved_without_its_size_scores_by_similarity_alone() -> None:
    story = words(7, 70)
    stored = fingerprint(" ".join(story))
    new = fingerprint(" ".join(["By", "staff", *story, "More", "to", "come", "later"]))
    unsized = Fingerprint(stored.minhash, 0)
    assert copy_score(new, unsized) == similarity(new.minhash, stored.minhash)


def test_signatures_and_copies_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "copies.sqlite3"
    found = fingerprint(" ".join(words(3)))
    SignatureFile(path).put({"wire": found}, {"wire": [Copy("paper", "Paper", "2026-11-02")]})
    reopened = SignatureFile(path)
    assert [
        (s, similarity(f.minhash, found.minhash), f.grams) for s, f in reopened.signatures()
    ] == [("wire", 1.0, found.grams)]
    assert reopened.copies_of(["wire"]) == {"wire": [Copy("paper", "Paper", "2026-11-02")]}
    assert reopened.is_copy("paper") and not reopened.is_copy("wire")
    reopened.forget(["wire"])
    assert list(reopened.signatures()) == [] and not reopened.is_copy("paper")


class Clock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_watch_runs_rounds_an_interval_apart_and_goes_on_after_a_failure() -> None:
    clock, seen = Clock(), []
    outcomes = iter(
        [IngestReport(added=2), UnavailableError("store not answering"), IngestReport()]
    )

    def run_round() -> IngestReport:
        clock.now += 3.0  # each round takes 3 s
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    ran = follow(run_round, 10.0, 3, lambda n, r, p: seen.append((n, r and r.added, p)),
                 clock=lambda: clock.now, sleep=clock.sleep)  # fmt: skip
    assert ran == 3 and clock.slept == [7.0, 7.0]
    assert seen == [(1, 2, None), (2, None, "store not answering"), (3, 0, None)]


def test_ctrl_c_ends_the_watch_between_rounds() -> None:
    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    ran = follow(IngestReport, 60.0, None, lambda *_: None, sleep=interrupted)
    assert ran == 1
