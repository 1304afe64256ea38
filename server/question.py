"""What a question asks about: its content terms and the kind of fact it wants."""

import re
from enum import Enum

from server.lexical import analyze

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


class FactKind(Enum):
    ANY = "any"
    NUMBER = "number"
    TIME = "time"


def content_terms(question: str) -> list[str]:
    """The question's stemmed subject terms, without stop words and question words."""
    return [t for t in dict.fromkeys(analyze([question])[0]) if t not in _QUESTION_STEMS]


def fact_kind(question: str) -> FactKind:
    if _NUMBER_QUESTION.search(question):
        return FactKind.NUMBER
    if _TIME_QUESTION.search(question):
        return FactKind.TIME
    return FactKind.ANY


def states_fact_kind(sentence: str, kind: FactKind) -> bool:
    """Whether a sentence can state the kind of fact asked for (a count needs a number)."""
    if kind is FactKind.NUMBER:
        return bool(_NUMBER.search(sentence))
    if kind is FactKind.TIME:
        return bool(_TIME.search(sentence))
    return True
