"""What kind of fact a question asks for, from its own words (who, where, how many, "which
country"): an answer shows differing values side by side only for a number, a date or a
person."""

import re
from enum import Enum


class AnswerType(Enum):
    """The kind of short answer a question asks for; NONE for why / what / how questions."""

    PERSON = "person"
    PLACE = "place"
    ORGANIZATION = "organization"
    NUMBER = "number"
    DATE = "date"
    ENTITY = "entity"  # "which <thing>": some named entity, of a kind not listed here
    NONE = "none"


# The noun after "which" / "what" that names the kind of answer ("which Latin American
# country", "what company"): question words, not a list of answers.
_ANSWER_NOUNS: dict[AnswerType, str] = {
    AnswerType.PLACE: "country countries city cities town village state nation region island "
    "capital place province county venue continent port location territory district",
    AnswerType.ORGANIZATION: "team club company companies firm party organization "
    "organisation agency network band group league brand airline bank university school "
    "newspaper outlet carrier automaker retailer union alliance nationality",
    AnswerType.PERSON: "person man woman singer actor actress player leader president "
    "minister ceo star rapper artist athlete politician author celebrity candidate senator "
    "governor judge coach musician director executive official billionaire founder host "
    "king queen prince princess pope comedian chef lawmaker mayor",
    AnswerType.DATE: "year date day month time decade century season",
    AnswerType.NUMBER: "number percentage percent amount share price total",
}
_NOUN_TYPES = {noun: kind for kind, nouns in _ANSWER_NOUNS.items() for noun in nouns.split()}
_HOW_MUCH = re.compile(r"\bhow (many|much|far|big|large|tall|high|old|long)\b", re.IGNORECASE)
_WHEN = re.compile(r"\bwhen\b", re.IGNORECASE)
_WHERE = re.compile(r"\bwhere\b", re.IGNORECASE)
_WHO = re.compile(r"\b(who|whom|whose)\b", re.IGNORECASE)
_WHICH = re.compile(r"\bwhich\b", re.IGNORECASE)
_WHICH_NOUN = re.compile(r"\b(?:which|what)\s+((?:[\w'-]+\s+){0,4}[\w'-]+)", re.IGNORECASE)
# "What did the president say?" asks for a statement, not a person: the answer noun comes
# before the verb.
_VERBS = frozenset(
    "is are was were do does did has have had will would can could should may might must "
    "be been being".split()
)


def answer_type(question: str) -> AnswerType:
    """The kind of short answer the question asks for, from its question words."""
    if _HOW_MUCH.search(question):
        return AnswerType.NUMBER
    if _WHEN.search(question):
        return AnswerType.DATE
    if _WHERE.search(question):
        return AnswerType.PLACE
    typed = _type_after_which(question)
    if typed is not AnswerType.NONE:
        return typed
    if _WHO.search(question):
        return AnswerType.PERSON
    if _WHICH.search(question):
        return AnswerType.ENTITY
    return AnswerType.NONE


def _type_after_which(question: str) -> AnswerType:
    """The kind named by the first answer noun within a few words after which / what."""
    for match in _WHICH_NOUN.finditer(question):
        for word in match.group(1).lower().split():
            if word in _VERBS:
                break
            kind = _NOUN_TYPES.get(word) or _NOUN_TYPES.get(word.rstrip("s"))
            if kind is not None:
                return kind
    return AnswerType.NONE
