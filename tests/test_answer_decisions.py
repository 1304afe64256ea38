"""The extractive answerer's decisions on small hand-made passages, with the real model, the
real entity tagger and the shipped weights: which sentence it chooses, when it refuses, how
it composes (short answer, duplicates, sources that disagree). None of these passages is in
a development set, so a retrained model is judged here on text it was not fitted to."""

from pathlib import Path
from typing import Any

import pytest

from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer, served_threshold
from server.answers.kinds import entity_tagger
from server.base.documents import Chunk, MetadataValue
from server.models import Answer
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval
from server.storage.embeddings import CachedEncoder, Embedder
from server.storage.lexical import LexicalIndex, analyze

pytestmark = pytest.mark.e2e

PROMPTS = PromptLibrary(Path(__file__).parent.parent / "prompts")
BACKGROUND = [
    "Officials said the talks covered trade, energy and the environment. Both sides "
    "promised to meet again. Analysts described the mood as cautious but constructive.",
    "The storm brought heavy rain to the coast on Tuesday. Several roads were closed and "
    "schools stayed shut. Forecasters expect drier weather later in the week.",
    "The museum reopened after a two-year renovation. Visitors can now see the restored "
    "ceiling paintings. Tickets are available online.",
]


Doc = tuple[str, str] | tuple[str, str, dict[str, MetadataValue]]


def answer_of(
    embedder: Embedder,
    question: str,
    docs: list[Doc],
    threshold: float | None = None,
    tagger: Any = entity_tagger,
    max_sentences: int = 3,
) -> Answer:
    """The answer over these (doc id, text[, metadata]) passages, ranked as given, with the
    background passages in the index so word weights come from a corpus."""
    chunks = [
        Chunk(f"c{n}", doc[0], f"{doc[0]}.md", None, None, None, 0, doc[1], _meta(doc))
        for n, doc in enumerate(docs)
    ]
    texts = [c.text for c in chunks] + BACKGROUND
    index = LexicalIndex.build([f"x{n}" for n in range(len(texts))], texts, "v")
    retrieval = Retrieval(
        embedder.embed_query(question),
        [Passage(c, 1.0 / (1 + n), None) for n, c in enumerate(chunks)],
        index.term_weights(analyze([question])[0]),
    )
    policy = AnswerPolicy(passages=5, max_sentences=max_sentences, threshold=threshold)
    answerer = ExtractiveAnswerer(CachedEncoder(embedder, 1000), PROMPTS, policy, tagger=tagger)
    return answerer.answer(question, question, retrieval)


def _meta(doc: Doc) -> dict[str, MetadataValue]:
    return doc[2] if len(doc) == 3 else {}


@pytest.fixture(scope="module")
def embedder(real_embedder: Embedder) -> Embedder:
    return real_embedder


def test_where_is_answered_with_the_sentence_naming_the_place(embedder: Embedder) -> None:
    answer = answer_of(
        embedder,
        "Where did the two ministers meet?",
        [
            (
                "a",
                "The two foreign ministers spoke about fishing rights for three hours. "
                "The two ministers met in Geneva, at the old League of Nations building. "
                "Both sides called the talks useful.",
            )
        ],
    )
    assert answer.answered
    assert "Geneva" in answer.answer
    assert answer.short_answer == "Geneva"
    assert answer.answer.startswith("Geneva — ")


def test_who_is_answered_with_a_name_the_question_does_not_hold(
    embedder: Embedder,
) -> None:
    answer = answer_of(
        embedder,
        "Who was elected mayor of Lyon?",
        [
            (
                "a",
                "Turnout was low in most districts of the city on Sunday. Claire Dubois was "
                "elected mayor of Lyon with 54 percent of the vote. The new council meets "
                "in March.",
            )
        ],
    )
    assert answer.answered
    assert "Claire Dubois" in answer.answer
    assert answer.short_answer == "Claire Dubois"


def test_a_question_the_passages_do_not_answer_is_refused(embedder: Embedder) -> None:
    answer = answer_of(
        embedder,
        "What is the boiling point of ethanol?",
        [("a", BACKGROUND[0]), ("b", BACKGROUND[1])],
    )
    assert not answer.answered
    assert answer.short_answer is None
    assert answer.citations, "the closest passages are offered"


def test_a_near_miss_on_the_same_story_is_refused(embedder: Embedder) -> None:
    answer = answer_of(
        embedder,
        "How many people attended the summit in Oslo?",
        [
            (
                "a",
                "The summit in Oslo focused on Arctic shipping. Leaders agreed to share "
                "weather data. They will meet again next year.",
            )
        ],
    )
    assert not answer.answered


def test_the_same_passage_from_two_documents_is_quoted_and_cited_once(
    embedder: Embedder,
) -> None:
    wire = (
        "The central bank raised its main interest rate to 4.5 percent on Thursday. "
        "It was the third increase this year."
    )
    answer = answer_of(
        embedder,
        "What did the central bank do to interest rates?",
        [("outlet-a", wire), ("outlet-b", wire)],
    )
    assert answer.answered
    assert answer.answer.count("raised its main interest rate") == 1
    assert [c.doc_id for c in answer.citations] == ["outlet-a"]


@pytest.mark.parametrize("max_sentences", [3, 1])
def test_sources_that_disagree_on_a_figure_are_both_shown(
    embedder: Embedder, max_sentences: int
) -> None:
    """Also when one sentence would otherwise be quoted: a figure is not picked silently."""
    answer = answer_of(
        embedder,
        "How many people were injured in the Harbin factory fire?",
        [
            ("a", "At least 12 people were injured in the Harbin factory fire, police said."),
            ("b", "The Harbin factory fire injured 19 people, according to local media."),
        ],
        max_sentences=max_sentences,
    )
    assert answer.answered
    assert answer.short_answer is not None
    assert "12" in answer.short_answer and "19" in answer.short_answer
    assert "[1]" in answer.short_answer and "[2]" in answer.short_answer
    assert len(answer.citations) == 2


def test_citations_carry_the_outlet_and_date_of_their_document(
    embedder: Embedder,
) -> None:
    answer = answer_of(
        embedder,
        "Where did the two ministers meet?",
        [
            (
                "a",
                "The meeting of the two foreign ministers took place in Geneva.",
                {"meta_outlet": "Example Times", "meta_published": "2024-03-01"},
            )
        ],
    )
    assert answer.answered
    assert (answer.citations[0].outlet, answer.citations[0].published) == (
        "Example Times",
        "2024-03-01",
    )


def test_without_the_entity_tagger_answers_still_come_from_the_rank_model(
    embedder: Embedder,
) -> None:
    answer = answer_of(
        embedder,
        "Where did the two ministers meet?",
        [("a", "The meeting of the two foreign ministers took place in Geneva.")],
        tagger=lambda: None,
    )
    assert answer.answered and "Geneva" in answer.answer
    assert answer.short_answer is None


def test_an_answer_at_the_served_threshold_is_the_answer_at_zero_or_a_refusal(
    embedder: Embedder,
) -> None:
    """What the evaluation relies on to score every threshold from one run."""
    served = served_threshold(None)
    for question in ["Where did the two ministers meet?", "Who chaired the meeting?"]:
        docs: list[Doc] = [("a", "The two foreign ministers met in Geneva on Monday.")]
        everything = answer_of(embedder, question, docs, threshold=0.0)
        as_served = answer_of(embedder, question, docs)
        assert everything.answered and everything.confidence is not None
        if everything.confidence >= served:
            assert as_served == everything
        else:
            assert not as_served.answered
