"""What a question is about: its content terms, and how much of them a text holds."""

from collections.abc import Set as AbstractSet

from server.storage.lexical import analyze_words, stem, term_sets

# Stems of words that shape a question rather than name its subject.
QUESTION_STEMS = frozenset(
    "what which who whom whose where when why how mani much did doe do is are was were "
    "can could would should will may might must shall tell describ explain kind type "
    "whi about".split()
)
_MIN_PREFIX = 4  # shortest stem that may match by prefix
_COMMONEST_ZIPF = 7.0  # Zipf frequency of the commonest English words ("of", "and")
_MIN_WEIGHT = 0.5


def content_terms(question: str) -> list[str]:
    """The question's stemmed subject terms, without stop words and question words."""
    return list(subject_terms(question))


def subject_terms(question: str) -> dict[str, float]:
    """Stemmed subject terms of the question, each weighted by how rare the word is in
    general English (wordfreq's Zipf scale: one step is ten times rarer).

    General-English rarity rather than the corpus's own IDF: over a few documents IDF
    ranks a filler word the documents happen not to use ("want", "say") above the subject.
    """
    from wordfreq import zipf_frequency

    terms: dict[str, float] = {}
    for word in analyze_words(question):
        term = stem(word)
        if term not in QUESTION_STEMS and term not in terms:
            rarity = _COMMONEST_ZIPF - zipf_frequency(word, "en")
            terms[term] = max(_MIN_WEIGHT, rarity)
    return terms


def term_coverage(terms: dict[str, float], text: str) -> float:
    """Weighted share of the subject terms found in the text."""
    return term_coverages(terms, [text])[0]


def term_coverages(terms: dict[str, float], texts: list[str]) -> list[float]:
    """term_coverage of each text, the texts analysed together."""
    total = sum(terms.values())
    if not total:
        return [0.0] * len(texts)
    return [
        sum(w for term, w in terms.items() if _matches(term, present)) / total
        for present in term_sets(texts)
    ]


def _matches(term: str, present: AbstractSet[str]) -> bool:
    """Exact stem match, or one stem extends the other (Japan / Japanese, Korea / Korean):
    the stemmer handles inflection, not derivation."""
    if term in present:
        return True
    return len(term) >= _MIN_PREFIX and any(
        len(other) >= _MIN_PREFIX and (other.startswith(term) or term.startswith(other))
        for other in present
    )
