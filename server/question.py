"""What a question asks about: its content terms and the kind of fact it wants."""

import re
from collections.abc import Set as AbstractSet
from enum import Enum

from server.lexical import analyze_words, stem, term_sets

# Stems of words that shape a question rather than name its subject.
_QUESTION_STEMS = frozenset(
    "what which who whom whose where when why how mani much did doe do is are was were "
    "can could would should will may might must shall tell describ explain kind type "
    "whi about".split()
)
_NUMBER_QUESTION = re.compile(
    r"\bhow (many|much|long|old|far|big|large|often)\b"
    r"|\bwhat (number|percentage|percent|share|amount|size)\b",
    re.IGNORECASE,
)
_TIME_QUESTION = re.compile(
    r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|date|day|month)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    "fifty|hundred|hundreds|thousand|thousands|million|millions|billion|billions|dozen|dozens"
)
_NUMBER = re.compile(rf"\d|\b({_NUMBER_WORDS})\b", re.IGNORECASE)
_MONTHS = "january|february|march|april|june|july|august|september|october|november|december"
_TIME = re.compile(
    rf"\b({_MONTHS}|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|"
    r"yesterday|tomorrow|tonight|week|weeks|month|months|year|years|decade|century|"
    r"spring|summer|autumn|fall|winter|morning|evening|ago|since|until|\d{4}s?)\b"
    r"|\bMay \d",
    re.IGNORECASE,
)


_PLACE_QUESTION = re.compile(r"^\s*where\b|\bfrom where\b", re.IGNORECASE)
# A place is named after a locative preposition or by a proper noun inside the sentence.
_PLACE = re.compile(r"\b(in|at|from|near|inside|outside|across|within)\b|(?<=\w[\s,])[A-Z]\w")
_STATEMENT_QUESTION = re.compile(
    r"\b(say|said|state|announce|tell|claim|comment|respond|react)\b", re.IGNORECASE
)
# Someone's words are reported with a reporting verb or a quotation.
_STATEMENT = re.compile(
    r"\b(said|says|say|stated|states|told|tells|announced|announces|declared|remarked|noted|"
    r"added|commented|claimed|urged|warned|emphasized|emphasised|stressed|insisted|called|"
    r"responded|reacted|according to)\b|[\"\u201c\u201d]",
    re.IGNORECASE,
)


class FactKind(Enum):
    ANY = "any"
    NUMBER = "number"
    TIME = "time"
    PLACE = "place"
    STATEMENT = "statement"


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
        if term not in _QUESTION_STEMS and term not in terms:
            rarity = _COMMONEST_ZIPF - zipf_frequency(word, "en")
            terms[term] = max(_MIN_WEIGHT, rarity)
    return terms


def fact_kind(question: str) -> FactKind:
    if _NUMBER_QUESTION.search(question):
        return FactKind.NUMBER
    if _TIME_QUESTION.search(question):
        return FactKind.TIME
    if _PLACE_QUESTION.search(question):
        return FactKind.PLACE
    if _STATEMENT_QUESTION.search(question):
        return FactKind.STATEMENT
    return FactKind.ANY


def states_fact_kind(sentence: str, kind: FactKind) -> bool:
    """Whether a sentence can state the kind of fact asked for (a count needs a number)."""
    if kind is FactKind.NUMBER:
        return bool(_NUMBER.search(sentence))
    if kind is FactKind.TIME:
        return bool(_TIME.search(sentence))
    if kind is FactKind.PLACE:
        return bool(_PLACE.search(sentence))
    if kind is FactKind.STATEMENT:
        return bool(_STATEMENT.search(sentence))
    return True


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
