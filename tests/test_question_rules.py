from pathlib import Path

import pytest

from server.condense import standalone_question
from server.models import Turn
from server.prompts import PromptError, PromptLibrary
from server.question import FactKind, content_terms, fact_kind, states_fact_kind
from server.retrieval import reciprocal_rank_fusion

PROMPTS = Path(__file__).parent.parent / "prompts"


def test_a_follow_up_is_joined_to_the_question_it_follows() -> None:
    history = [
        Turn(role="user", content="What did they agree on?"),
        Turn(role="assistant", content="They agreed to cooperate. [1]"),
    ]
    assert standalone_question("What about defense?", history) == (
        "What did they agree on? What about defense?"
    )


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
        ("How many people came?", FactKind.NUMBER),
        ("When is the next summit?", FactKind.TIME),
        ("What did they agree on?", FactKind.ANY),
    ],
)
def test_fact_kind_of_questions(question: str, kind: FactKind) -> None:
    assert fact_kind(question) is kind


def test_a_count_needs_a_number_and_a_date_needs_a_time() -> None:
    assert states_fact_kind("Some 300 officials attended.", FactKind.NUMBER)
    assert not states_fact_kind("Many officials attended.", FactKind.NUMBER)
    assert states_fact_kind("They meet again in March.", FactKind.TIME)
    assert not states_fact_kind("Leaders may meet again.", FactKind.TIME)
    assert states_fact_kind("The talks were held in the old capital.", FactKind.PLACE)
    assert states_fact_kind("The delegation visited Busan first.", FactKind.PLACE)
    assert not states_fact_kind("The search may improve relations.", FactKind.PLACE)
    assert states_fact_kind("The minister said talks would go on.", FactKind.STATEMENT)
    assert not states_fact_kind("Talks may go on.", FactKind.STATEMENT)


def test_reciprocal_rank_fusion_rewards_agreement() -> None:
    scores = reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=60)
    assert max(scores, key=lambda item: scores[item]) == "b"
    assert scores["a"] == pytest.approx(1 / 61)


def test_every_prompt_renders_with_its_variables() -> None:
    library = PromptLibrary(PROMPTS)
    assert library.names() == [
        "chat_intro",
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
