from itertools import pairwise

from ingest.chunker import Chunker, ChunkingPolicy
from server.base.documents import Block, SourceDocument
from tests.fakes import FakeEmbedder


def make_chunker(target: int = 20, maximum: int = 30, overlap: int = 1) -> Chunker:
    fake = FakeEmbedder(maximum)
    return Chunker(fake.count_tokens, ChunkingPolicy(maximum, target, overlap))


def doc(text: str, title: str | None = "T") -> SourceDocument:
    return SourceDocument("d", "src", title, [Block(text, section="S", page=2)])


def test_chunks_overlap_by_one_sentence_and_keep_their_place() -> None:
    sentences = [f"Sentence number {i} has six words." for i in range(6)]
    chunks = make_chunker().chunk(doc(" ".join(sentences)))
    assert len(chunks) > 1
    for before, after in pairwise(chunks):
        assert before.text.split(". ")[-1].rstrip(".") in after.text
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert {(c.doc_id, c.source, c.title, c.section, c.page) for c in chunks} == {
        ("d", "src", "T", "S", 2)
    }


def test_a_sentence_longer_than_the_model_is_cut_at_word_boundaries() -> None:
    fake = FakeEmbedder(30)
    chunks = make_chunker().chunk(doc("word " * 200 + "end."))
    assert max(fake.count_tokens([c.indexed_text for c in chunks])) <= 30
    assert sum(len(c.text.split()) for c in chunks) == 201


def test_chunk_ids_come_from_content() -> None:
    first = make_chunker().chunk(doc("One sentence. Another one."))
    again = make_chunker().chunk(doc("One sentence. Another one."))
    edited = make_chunker().chunk(doc("One sentence. Another one, edited."))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert [c.chunk_id for c in first] != [c.chunk_id for c in edited]


def test_a_long_title_leaves_room_for_the_text() -> None:
    title = " ".join(["headline"] * 15)
    chunks = make_chunker(target=16, maximum=64).chunk(doc("The summit was held in Nara.", title))
    assert " ".join(c.text for c in chunks) == "The summit was held in Nara."
    assert len(chunks) <= 2  # cut between words, not into characters
