"""What tells the sentence that answers a question from its neighbours, as numbers.

Every sentence of the passages read is a candidate. Its features: meaning (MiniLM cosine to
the question, of the sentence and of its passage), wording (the share of the question's
terms it and its passage hold, each term weighted by its inverse document frequency in this
corpus), what it adds (terms the question does not have; named entities of the kind asked
for), and where it stands (passage rank, document lead). The weights that turn them into a
probability are learned (server/answers/model.py).
"""

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from server.answers.kinds import AnswerType, Entity, SentenceTagger, wanted_labels
from server.answers.question import QUESTION_STEMS, term_coverages
from server.answers.reader import SentenceReader
from server.answers.reader_inputs import Window
from server.base.document_meta import published_day
from server.base.sentences import split_sentences
from server.retrieval.hybrid import Passage
from server.storage.embeddings import CachedEncoder
from server.storage.lexical import analyze, term_sets

# Computed for every candidate (cheap): they rank the sentences.
RANK_FEATURES = (
    "sentence_similarity",
    "passage_similarity",
    "similarity_gap",  # to the most similar candidate
    "sentence_coverage",
    "passage_coverage",
    "coverage_gap",  # to the best-covering candidate
    "new_terms",  # share of the sentence's terms the question does not hold
    "passage_rank",  # 1 / (1 + rank)
    "document_lead",
    "log_words",
    "has_digit",
    "new_capitalised",  # a capitalised word past the first that the question lacks
    "asks_type",  # the question asks for a name, place, number or date
    "staleness",  # log(1 + days its document is older than the newest one read)
)
# Computed for the best-ranked few (a tagger run per sentence): they decide the answer.
ENTITY_FEATURES = (
    "wanted_entity",  # an entity of the kind asked for that the question does not name
    "wanted_missing",  # the question asks for a kind the sentence does not state
    "new_entity",  # any entity the question does not name
    "answer_support",  # log(1 + passages read that name the sentence's answer entity)
)
# Computed for the same few by the trained reader (a model call over them all).
READER_FEATURES = (
    "reader_logit",  # the log-odds that the sentence answers, read with the question
    "reader_gap",  # to the best sentence read
)
_CAPITALISED = re.compile(r"(?<=\s)[A-Z][\w'-]+")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Candidate:
    passage_rank: int
    sentence_index: int
    sentence: str
    features: dict[str, float]
    entities: tuple[Entity, ...] = ()


def question_terms(question: str, term_weights: dict[str, float]) -> dict[str, float]:
    """The question's analysed subject terms, each weighted by its corpus IDF."""
    terms = [t for t in analyze([question])[0] if t not in QUESTION_STEMS]
    fallback = max(term_weights.values(), default=1.0)
    return {term: term_weights.get(term, fallback) for term in terms}


def candidates(
    question: str,
    kind: AnswerType,
    passages: list[Passage],
    query_vector: list[float],
    term_weights: dict[str, float],
    encoder: CachedEncoder,
) -> list[Candidate]:
    """Every distinct sentence of the passages with its rank features; a sentence repeated
    in a later passage (an overlap, the same wire story in two outlets) counts once."""
    terms = question_terms(question, term_weights)
    split = [split_sentences(p.chunk.text) for p in passages]
    placed = _distinct_sentences(split)
    if not terms or not placed:  # a question of stop words alone names nothing to find
        return []
    unique = list(dict.fromkeys(s for sentences in split for s in sentences))
    vectors = dict(zip(unique, encoder.encode(unique), strict=True))
    query = np.asarray(query_vector, dtype=np.float32)
    by_passage = _passage_features(passages, split, terms, vectors, query)
    texts = [sentence for _, _, sentence in placed]
    by_sentence = _sentence_features(question, kind, texts, terms, vectors, query)
    return [
        Candidate(
            rank,
            index,
            sentence,
            {
                **by_sentence[n],
                **by_passage[rank],
                "document_lead": float(index == 0 and passages[rank].chunk.position == 0),
            },
        )
        for n, (rank, index, sentence) in enumerate(placed)
    ]


def _distinct_sentences(split: list[list[str]]) -> list[tuple[int, int, str]]:
    """(passage rank, index in the passage, sentence), each text once, where it first is."""
    seen: set[str] = set()
    placed = []
    for rank, sentences in enumerate(split):
        for index, sentence in enumerate(sentences):
            key = _normalised(sentence)
            if key not in seen:
                seen.add(key)
                placed.append((rank, index, sentence))
    return placed


def _passage_features(
    passages: list[Passage],
    split: list[list[str]],
    terms: dict[str, float],
    vectors: dict[str, np.ndarray],
    query: np.ndarray,
) -> list[dict[str, float]]:
    coverages = term_coverages(terms, [passage_context(p) for p in passages])
    staleness = _staleness(passages)
    return [
        {
            "passage_similarity": _passage_similarity(split[rank], vectors, query),
            "passage_coverage": coverages[rank],
            "passage_rank": 1.0 / (1 + rank),
            "staleness": staleness[rank],
        }
        for rank in range(len(passages))
    ]


def _sentence_features(
    question: str,
    kind: AnswerType,
    texts: list[str],
    terms: dict[str, float],
    vectors: dict[str, np.ndarray],
    query: np.ndarray,
) -> list[dict[str, float]]:
    similarity = [float(vectors[s] @ query) for s in texts]
    coverage = term_coverages(terms, texts)
    new_terms = _new_term_shares(texts, terms)
    question_words = set(question.lower().split())
    return [
        {
            "sentence_similarity": similarity[n],
            "similarity_gap": similarity[n] - max(similarity),
            "sentence_coverage": coverage[n],
            "coverage_gap": coverage[n] - max(coverage),
            "new_terms": new_terms[n],
            "log_words": math.log1p(len(sentence.split())),
            "has_digit": float(bool(_DIGIT.search(sentence))),
            "new_capitalised": float(_names_new_capitalised(sentence, question_words)),
            "asks_type": float(kind is not AnswerType.NONE),
        }
        for n, sentence in enumerate(texts)
    ]


def with_entities(
    question: str,
    kind: AnswerType,
    chosen: list[Candidate],
    tagger: SentenceTagger,
    passages: list[Passage],
) -> list[Candidate]:
    """The candidates with their named entities and the entity features. An answer that
    several passages name (several outlets reporting one fact) is better supported than
    one a single sentence names."""
    labels = wanted_labels(kind, question)
    lowered = question.lower()
    tagged = tagger.entities([c.sentence for c in chosen])
    texts = [p.chunk.text.lower() for p in passages]
    result = []
    for candidate, entities in zip(chosen, tagged, strict=True):
        new = [e for e in entities if e.text.lower() not in lowered]
        answers = [e for e in new if e.label in labels] or (new if not labels else [])
        support = sum(1 for t in texts if answers and answers[0].text.lower() in t)
        features = {
            **candidate.features,
            "wanted_entity": float(any(e.label in labels for e in new)),
            "wanted_missing": float(bool(labels) and not any(e.label in labels for e in new)),
            "new_entity": float(bool(new)),
            "answer_support": math.log1p(support),
        }
        result.append(
            Candidate(
                candidate.passage_rank,
                candidate.sentence_index,
                candidate.sentence,
                features,
                entities,
            )
        )
    return result


def with_readings(
    question: str, chosen: list[Candidate], reader: SentenceReader, passages: list[Passage]
) -> list[Candidate]:
    """The candidates with what the reader makes of each sentence under its document's
    title: how likely it answers, and how far it falls behind the best one read."""
    windows = [Window(c.sentence, passages[c.passage_rank].chunk.title or "") for c in chosen]
    logits = reader.logits(question, windows) if chosen else []
    best = max(logits, default=0.0)
    return [
        replace(c, features={**c.features, "reader_logit": logit, "reader_gap": logit - best})
        for c, logit in zip(chosen, logits, strict=True)
    ]


def passage_context(passage: Passage) -> str:
    """The passage with its title and section: what the words of an answer may come from."""
    chunk = passage.chunk
    return " ".join(filter(None, [chunk.title, chunk.section, chunk.text]))


def _normalised(sentence: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", sentence.lower()).split())


def _passage_similarity(
    sentences: list[str], vectors: dict[str, np.ndarray], query: np.ndarray
) -> float:
    if not sentences:
        return 0.0
    mean = np.mean([vectors[s] for s in sentences], axis=0)
    norm = float(np.linalg.norm(mean))
    return float(mean @ query) / norm if norm else 0.0


def _staleness(passages: list[Passage]) -> list[float]:
    """How much older each passage's document is than the newest one read: a story that
    develops is told best by its latest report. 0 where a date is unknown."""
    days = [published_day(p.chunk) for p in passages]
    newest = max((d for d in days if d is not None), default=None)
    return [
        math.log1p((newest - d).days) if d is not None and newest is not None else 0.0 for d in days
    ]


def _new_term_shares(sentences: list[str], terms: dict[str, float]) -> list[float]:
    shares = []
    for present in term_sets(sentences):
        if not present:
            shares.append(0.0)
            continue
        shares.append(sum(1 for t in present if t not in terms) / len(present))
    return shares


def _names_new_capitalised(sentence: str, question_words: set[str]) -> bool:
    return any(
        word.lower().strip("'s") not in question_words for word in _CAPITALISED.findall(sentence)
    )
