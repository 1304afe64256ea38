from server.models import Answer, Citation
from server.slack.blocks import answer_message, escape
from server.slack.deliveries import SeenEvents


def citation(n: int, text: str = "The summit was held in Nara.") -> Citation:
    return Citation(
        n=n,
        doc_id="d",
        chunk_id=f"c{n}",
        source="/srv/a.md",
        title="Talks <b>",
        section="Venue",
        page=None,
        text=text,
        score=0.5,
    )


def test_an_answer_becomes_mrkdwn_with_a_sources_section_and_a_fallback() -> None:
    answer = Answer(
        question="q",
        answer="Held in Nara & more. [1]",
        answered=True,
        citations=[citation(1, "x" * 1000)],
    )
    message = answer_message(answer)
    texts = [b.get("text", {}).get("text", "") for b in message["blocks"]]
    assert texts[0] == "Held in Nara &amp; more. [1]"
    assert any("*Sources*" in e["text"] for b in message["blocks"] for e in b.get("elements", []))
    assert texts[-1].startswith("*[1]* Talks &lt;b&gt; — Venue\n>")
    assert len(texts[-1]) < 400  # the quote is shortened
    assert message["text"].startswith("Held in Nara & more. [1]") and "Sources:" in message["text"]


def test_an_unanswered_question_lists_closest_passages() -> None:
    answer = Answer(
        question="q",
        answer="The documents do not answer this question.",
        answered=False,
        citations=[citation(1)],
    )
    message = answer_message(answer)
    labels = [e["text"] for b in message["blocks"] for e in b.get("elements", [])]
    assert labels == ["*Closest passages*"]


def test_a_checked_model_answer_says_what_was_removed() -> None:
    answer = Answer(
        question="q",
        answer="Held in Nara. [1]",
        answered=True,
        citations=[citation(1)],
        mode="llm",
        dropped=["It rained <all> day."],
    )
    message = answer_message(answer)
    notes = [e["text"] for b in message["blocks"] for e in b.get("elements", [])]
    assert notes[0] == (
        "_Removed because no cited passage supports it: “It rained &lt;all&gt; day.”_"
    )
    assert "Removed because no cited passage supports it" in message["text"]


def test_escape_leaves_only_slack_control_characters_changed() -> None:
    assert escape("<@U1> & *bold*") == "&lt;@U1&gt; &amp; *bold*"


def test_an_event_is_seen_once_by_any_of_its_keys_until_it_expires() -> None:
    now = [0.0]
    seen = SeenEvents(ttl=60, clock=lambda: now[0])
    assert seen.first_time(["Ev1", "C1:1.0"])
    assert not seen.first_time(["Ev2", "C1:1.0"])  # same message, another delivery
    assert not seen.first_time(["Ev1", ""])
    now[0] = 120.0
    assert seen.first_time(["Ev1", "C1:1.0"])
