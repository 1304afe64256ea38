"""The extractive answerer's decisions on small hand-made passages, with the shipped span
reader and its calibrated threshold: which span it gives, when it refuses, how it composes
(the sentence quoted, duplicates, sources that disagree). None of these passages is in a
training or development set, so a retrained reader is judged here on text it never saw."""

from pathlib import Path

import pytest

from server.answers.extractive import AnswerPolicy, ExtractiveAnswerer
from server.answers.span_reader import shipped_reader
from server.base.documents import Chunk, MetadataValue
from server.contract import Answer
from server.prompts import PromptLibrary
from server.retrieval.hybrid import Passage, Retrieval

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
    question: str, docs: list[Doc], threshold: float | None = None, max_sentences: int = 3
) -> Answer:
    """The answer over these (doc id, text[, metadata]) passages, ranked as given."""
    passages = [
        Passage(
            Chunk(f"c{n}", doc[0], f"{doc[0]}.md", None, None, None, 0, doc[1], _meta(doc)),
            1.0 / (1 + n),
            None,
        )
        for n, doc in enumerate(docs)
    ]
    policy = AnswerPolicy(passages=5, max_sentences=max_sentences, threshold=threshold)
    answerer = ExtractiveAnswerer(PROMPTS, policy)
    return answerer.answer(question, question, Retrieval(passages))


def _meta(doc: Doc) -> dict[str, MetadataValue]:
    return doc[2] if len(doc) == 3 else {}


def test_where_is_answered_with_the_place_and_the_sentence_naming_it() -> None:
    answer = answer_of(
        "Where did the two ministers meet?",
        [
            (
                "a",
                "The two foreign ministers spoke about fishing rights for three hours. "
                "The two ministers met in Geneva, at the old League of Nations building. "
                "Both sides called the talks useful.",
            ),
            ("b", BACKGROUND[0]),
        ],
    )
    assert answer.answered
    assert answer.short_answer is not None and "Geneva" in answer.short_answer
    assert "The two ministers met in Geneva" in answer.answer
    assert "fishing rights" not in answer.answer  # the sentence that answers, not its passage
    assert [c.doc_id for c in answer.citations] == ["a"]


def test_who_is_answered_with_a_name_the_question_does_not_hold() -> None:
    answer = answer_of(
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
    assert answer.short_answer == "Claire Dubois"


def test_a_question_the_passages_do_not_answer_is_refused() -> None:
    answer = answer_of(
        "What is the boiling point of ethanol?", [("a", BACKGROUND[0]), ("b", BACKGROUND[1])]
    )
    assert not answer.answered
    assert answer.short_answer is None
    assert answer.citations, "the closest passages are offered"


def test_a_near_miss_on_the_same_story_is_refused() -> None:
    answer = answer_of(
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


def test_the_same_passage_from_two_documents_is_quoted_and_cited_once() -> None:
    wire = (
        "The central bank raised its main interest rate to 4.5 percent on Thursday. "
        "It was the third increase this year."
    )
    answer = answer_of(
        "What did the central bank raise its main interest rate to?",
        [("outlet-a", wire), ("outlet-b", wire)],
    )
    assert answer.answered and answer.short_answer == "4.5 percent"
    assert answer.answer.count("raised its main interest rate") == 1
    assert [c.doc_id for c in answer.citations] == ["outlet-a"]


@pytest.mark.parametrize("max_sentences", [3, 1])
def test_sources_that_disagree_on_a_figure_are_both_shown(max_sentences: int) -> None:
    """Also when one sentence would otherwise be quoted: a figure is not picked silently."""
    answer = answer_of(
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


def test_another_document_stating_the_same_answer_is_cited_too() -> None:
    answer = answer_of(
        "Where did the two ministers meet?",
        [
            ("a", "The two foreign ministers met in Geneva on Monday."),
            ("b", "Geneva hosted the meeting of the two foreign ministers."),
            ("c", BACKGROUND[2]),
        ],
    )
    assert answer.answered and answer.short_answer == "Geneva"
    assert [c.doc_id for c in answer.citations] == ["a", "b"]


def test_citations_carry_the_outlet_and_date_of_their_document() -> None:
    answer = answer_of(
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


def test_an_answer_at_the_served_threshold_is_the_answer_at_zero_or_a_refusal() -> None:
    """What the evaluation relies on to score every threshold from one run."""
    for question in ["Where did the two ministers meet?", "Who chaired the meeting?"]:
        docs: list[Doc] = [("a", "The two foreign ministers met in Geneva on Monday.")]
        everything = answer_of(question, docs, threshold=0.0)
        as_served = answer_of(question, docs)
        assert everything.answered and everything.confidence is not None
        if everything.confidence >= shipped_reader().threshold:
            assert as_served == everything
        else:
            assert not as_served.answered and as_served.confidence == everything.confidence
