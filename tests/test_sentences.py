from server.base.sentences import split_sentences


def test_splits_sentences_but_not_abbreviations_or_initials() -> None:
    text = 'Mr. Kim met Dr. Lee. The U.S. Army left. "Yes," he said.\n\nNew paragraph here'
    assert split_sentences(text) == [
        "Mr. Kim met Dr. Lee.",
        "The U.S. Army left.",
        '"Yes," he said.',
        "New paragraph here",
    ]


def test_hard_wrapped_lines_join_into_one_sentence() -> None:
    assert split_sentences("A sentence that\nwraps here.") == ["A sentence that wraps here."]
