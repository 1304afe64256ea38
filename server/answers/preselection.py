"""The cheap ranking that preselects the sentences the reader reads: logistic regression
over each candidate's standardised features (server/answers/candidates.py), a few dozen
multiplications a sentence. Its weights (`preselection.json`) were fitted on the
development sets by tests/tuning/train_answerer.py."""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from server.errors import SummitError

_MODEL_FILE = "preselection.json"


@dataclass(frozen=True)
class LogisticModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]

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
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "weights": [round(w, 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "means": [round(m, 6) for m in self.means],
            "scales": [round(s, 6) for s in self.scales],
        }


@lru_cache(maxsize=1)
def shipped_preselection() -> LogisticModel:
    """The preselection weights shipped with the package."""
    try:
        text = resources.files("server.answers").joinpath(_MODEL_FILE).read_text(encoding="utf-8")
        return LogisticModel.from_json(json.loads(text)["weights"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SummitError(
            f"The preselection weights ({_MODEL_FILE}) are missing or unreadable."
        ) from exc
