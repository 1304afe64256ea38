"""Entities kept on disk: a second process (here, a second StoredEntities over the same file)
reads them back without loading the tagger."""

from pathlib import Path

from server.answers.entities import StoredEntities
from server.answers.kinds import Entity, EntityTagger
from server.storage.sentence_vectors import SentenceVectorStore


class CountingTagger(EntityTagger):
    """Tags capitalised words as PERSON; counts the sentences it was asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def entities(self, sentences: list[str]) -> list[tuple[Entity, ...]]:
        self.asked.extend(sentences)
        return [tuple(Entity(w, "PERSON") for w in s.split() if w.istitle()) for s in sentences]


def open_store(path: Path) -> SentenceVectorStore:
    stored = SentenceVectorStore.open(path, 1.0)
    assert stored is not None
    return stored


def test_entities_found_once_are_read_back_from_disk(tmp_path: Path) -> None:
    sentences = [
        "Lee met Takaichi in Nara.",
        "they talked about trade",
        "Lee met Takaichi in Nara.",
    ]
    first = CountingTagger()
    tagged = StoredEntities(open_store(tmp_path / "s.sqlite3"), lambda: first).entities(sentences)
    assert tagged[0] == (
        Entity("Lee", "PERSON"),
        Entity("Takaichi", "PERSON"),
        Entity("Nara.", "PERSON"),
    )
    assert tagged[1] == () and tagged[2] == tagged[0]
    assert first.asked == sentences[:2]  # each sentence once

    second = CountingTagger()
    again = StoredEntities(open_store(tmp_path / "s.sqlite3"), lambda: second).entities(sentences)
    assert again == tagged
    assert second.asked == []  # no tagger needed: every sentence was on disk


def test_without_a_file_or_a_tagger_sentences_have_no_entities(tmp_path: Path) -> None:
    tagger = CountingTagger()
    assert StoredEntities(None, lambda: tagger).entities(["Seoul said so."]) == [
        (Entity("Seoul", "PERSON"),)
    ]
    assert StoredEntities(None, lambda: None).entities(["Seoul said so."]) == [()]


def test_a_tagger_that_does_not_load_sends_answers_to_the_weights_without_entities() -> None:
    entities = StoredEntities(None, lambda: None)
    assert entities.if_installed() is entities  # spaCy is installed with the test extras
    assert entities.entities(["Seoul said so."]) == [()]
    assert entities.if_installed() is None
