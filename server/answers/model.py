"""The learned weights that turn a candidate sentence's features into the probability that
it states the answer (logistic regression over standardised features).

Two models ship in `answer_model.json`, both retrained by tests/tuning/train_answerer.py
from the development sets: `rank` reads the features every candidate gets and orders them;
`answer` adds the named-entity features and the trained reader's figures of the best-ranked
few and decides. Each carries
the answer threshold calibrated for precision on the development sets; `answer` is used
when the entity tagger is installed, `rank` alone otherwise.
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from server.errors import SummitError

_MODEL_FILE = "answer_model.json"


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float  # the probability from which a sentence is taken as the answer

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (features[name] - mean) / scale
            for name, w, mean, scale in zip(
                self.features, self.weights, self.means, self.scales, strict=True
            )
        )
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LogisticModel":
        return cls(
            features=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            means=tuple(float(m) for m in data["means"]),
            scales=tuple(float(s) or 1.0 for s in data["scales"]),
            threshold=float(data["threshold"]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "means": [round(m, 6) for m in self.means],
            "scales": [round(s, 6) for s in self.scales],
            "threshold": round(self.threshold, 4),
        }


@dataclass(frozen=True)
class AnswerModels:
    rank: LogisticModel
    answer: LogisticModel


@lru_cache(maxsize=1)
def shipped_models() -> AnswerModels:
    """The models shipped with the package."""
    try:
        text = resources.files("server.answers").joinpath(_MODEL_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
        return AnswerModels(
            LogisticModel.from_json(data["rank"]), LogisticModel.from_json(data["answer"])
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SummitError(f"The answer model ({_MODEL_FILE}) is missing or unreadable.") from exc
