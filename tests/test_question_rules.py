from pathlib import Path

import pytest

from server.answers.kinds import AnswerType, answer_type
from server.answers.question import content_terms
from server.contract import Turn
from server.llm.condense import MAX_STANDALONE_WORDS, standalone_question
from server.prompts import PromptError, PromptLibrary
from server.retrieval.hybrid import reciprocal_rank_fusion

PROMPTS = Path(__file__).parent.parent / "prompts"


def test_a_follow_up_is_joined_to_the_question_it_follows() -> None:
    history = [
        Turn(role="user", content="What did they agree on?"),
        Turn(role="assistant", content="They agreed to cooperate. [1]"),
    ]
    assert standalone_question("What about defense?", history) == (
        "What did they agree on? What about defense?"
    )


def test_a_long_conversation_never_pushes_the_newest_question_out() -> None:
    """The embedding model reads 256 word pieces: the joined question stays well inside."""
    long_question = "What did they say about " + "the many difficult issues " * 30 + "?"
    history = [Turn(role="user", content=long_question) for _ in range(60)]
    joined = standalone_question("And what about defense?", history)
    assert joined.endswith("And what about defense?")
    assert len(joined.split()) <= MAX_STANDALONE_WORDS
    assert joined.startswith("What did they say about")


def test_a_chain_of_follow_ups_keeps_the_first_subject() -> None:
    history = [
        Turn(role="user", content="Where were the remains found?"),
        Turn(role="user", content="And who analyses them?"),
    ]
    assert standalone_question("Why?", history).startswith("Where were the remains found?")


def test_a_question_that_stands_alone_is_left_as_is() -> None:
    history = [Turn(role="user", content="What did the leaders agree on?")]
    question = "Where was the summit between Japan and Korea held?"
    assert standalone_question(question, history) == question


def test_question_words_are_not_subject_terms() -> None:
    assert content_terms("Where was the summit held?") == ["summit", "held"]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many people came?", AnswerType.NUMBER),
        ("When is the next summit?", AnswerType.DATE),
        ("What year did the war end?", AnswerType.DATE),
        ("Where was the summit held?", AnswerType.PLACE),
        ("In which town did Lee and Takaichi get together?", AnswerType.PLACE),
        ("Which Latin American country held an election?", AnswerType.PLACE),
        ("Which Major League Baseball team signed him?", AnswerType.ORGANIZATION),
        ("Which superstar singer announced a tour?", AnswerType.PERSON),
        ("Who met at the summit in Nara?", AnswerType.PERSON),
        ("What did they agree on?", AnswerType.NONE),
        ("Why has the relationship been difficult?", AnswerType.NONE),
    ],
)
def test_answer_type_of_questions(question: str, kind: AnswerType) -> None:
    assert answer_type(question) is kind


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert max(scores, key=lambda item: scores[item]) == "b"
    assert scores["a"] == pytest.approx(1 / 61)


def test_every_prompt_renders_with_its_variables() -> None:
    library = PromptLibrary(PROMPTS)
    assert library.names() == [
        "chat_intro",
        "empty_server_store",
        "empty_store",
        "llm_answer",
        "llm_condense",
        "llm_system",
        "llm_unavailable",
        "llm_unsupported",
        "no_answer",
    ]
    for name in library.names():
        text = library.render(name, **{v: f"<{v}>" for v in library.variables(name)})
        assert text and "$" not in text


def test_a_prompt_refuses_missing_variables() -> None:
    with pytest.raises(PromptError, match="missing"):
        PromptLibrary(PROMPTS).render("empty_store", store="x")
