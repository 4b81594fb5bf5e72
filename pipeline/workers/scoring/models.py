"""Lead-scoring models: pure functions from a lead's features and one activity to new features,
and from features to a score.

Two models share one feature record, so a lead's history survives a change of model:

* ``DecayedWeights``: points per activity type, halved every ``half_life_s`` of *event* time.
  The score is the decayed sum as of the lead's latest activity; an activity older than that
  (out of order) is added with its own decay. Deterministic for a given order of activities.
* ``LogisticRegression``: ``scale * sigmoid(intercept + sum(coef[type] * f(count[type])))`` over
  the lead's per-type activity counts, ``f`` being ``identity`` or ``log1p``; coefficients come
  from a JSON file (``deploy/workers/lead-model.example.json``).

Activity types are Marketo ``activityTypeId`` numbers (the id is authoritative: docs/protocol.md).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from pipeline.errors import ConfigError
from pipeline.settings import HOURS

MODEL_NAMES = ("decayed-weights", "logistic-regression")
TRANSFORMS = ("identity", "log1p")


class Activity(NamedTuple):
    type_id: int
    at_s: float


_new_tuple = tuple.__new__  # a NamedTuple's own __new__ is a Python function, twice as slow


class Features(NamedTuple):
    """A lead's history as the models see it (immutable; a NamedTuple for the hot path)."""

    decayed: float = 0.0
    decayed_at_s: float = 0.0
    counts: Mapping[int, int] = {}

    def counted(self, activity: Activity) -> "Features":
        counts = dict(self.counts)
        counts[activity.type_id] = counts.get(activity.type_id, 0) + 1
        return Features(self.decayed, self.decayed_at_s, counts)


class ScoringModel(Protocol):
    @property
    def name(self) -> str: ...

    def apply(self, features: Features, activity: Activity) -> Features: ...

    def score(self, features: Features) -> float: ...

    def step(
        self, decayed: float, decayed_at_s: float, counts: dict[int, int], type_id: int, at_s: float
    ) -> tuple[float, float, float]:
        """``apply`` on the features' parts, counting the activity into ``counts`` itself, and
        ``score`` of the result: the new ``(decayed, decayed_at_s, score)``, in one call (the
        scoring handler's hot path: no copy of the counts, no ``Features``)."""
        ...

    def score_of(self, decayed: float, counts: Mapping[int, int]) -> float:
        """``score`` of the features with these parts."""
        ...


@dataclass(frozen=True)
class DecayedWeights:
    weights: Mapping[int, float]
    half_life_s: float = 7 * 24 * HOURS
    default_weight: float = 0.0
    name: str = "decayed-weights"

    def apply(self, features: Features, activity: Activity) -> Features:
        counts = dict(features.counts)
        value, latest_s, _ = self.step(features.decayed, features.decayed_at_s, counts, *activity)
        return _new_tuple(Features, (value, latest_s, counts))

    def step(
        self, value: float, latest_s: float, counts: dict[int, int], type_id: int, at_s: float
    ) -> tuple[float, float, float]:
        weight = self.weights.get(type_id, self.default_weight)
        if weight:
            if at_s >= latest_s:
                value = value * 0.5 ** ((at_s - latest_s) / self.half_life_s) + weight  # _decay
                latest_s = at_s
            else:  # an activity older than the latest one: add it decayed to the latest's time
                value += weight * self._decay(latest_s - at_s)
        counts[type_id] = counts.get(type_id, 0) + 1  # last: nothing above changed state
        return value, latest_s, value  # the score is the decayed sum

    def _decay(self, elapsed_s: float) -> float:
        return float(0.5 ** (elapsed_s / self.half_life_s))

    def score(self, features: Features) -> float:
        return features.decayed

    def score_of(self, decayed: float, counts: Mapping[int, int]) -> float:
        return decayed


@dataclass(frozen=True)
class LogisticRegression:
    intercept: float
    coefficients: Mapping[int, float]
    transform: str = "log1p"
    scale: float = 100.0
    version: str = ""
    name: str = "logistic-regression"

    def apply(self, features: Features, activity: Activity) -> Features:
        return features.counted(activity)

    def step(
        self, decayed: float, decayed_at_s: float, counts: dict[int, int], type_id: int, at_s: float
    ) -> tuple[float, float, float]:
        counts[type_id] = counts.get(type_id, 0) + 1
        return decayed, decayed_at_s, self.score_of(decayed, counts)

    def score(self, features: Features) -> float:
        return self.score_of(features.decayed, features.counts)

    def score_of(self, decayed: float, counts: Mapping[int, int]) -> float:
        f = math.log1p if self.transform == "log1p" else float
        z = self.intercept + sum(c * f(counts.get(t, 0)) for t, c in self.coefficients.items())
        # numerically stable sigmoid
        p = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
        return self.scale * p


def _type_ids(where: str, raw: Any) -> dict[int, float]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table of activity type id → number.")
    out = {}
    for key, value in raw.items():
        if not str(key).isdigit():
            raise ConfigError(f"{where} key {key!r} is not an activity type id (a number).")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}.{key} has value {value!r}. Expected a number.")
        out[int(key)] = float(value)
    return out


def parse_decayed_weights(doc: Mapping[str, Any]) -> DecayedWeights:
    known = {"half_life_hours", "default_weight", "weights"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"[decayed_weights] has unknown key(s) {unknown}; valid: {sorted(known)}")
    half_life = doc.get("half_life_hours", 168)
    if isinstance(half_life, bool) or not isinstance(half_life, int | float) or half_life <= 0:
        raise ConfigError(f"decayed_weights.half_life_hours has value {half_life!r}. Expected > 0.")
    default = doc.get("default_weight", 0)
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise ConfigError(
            f"decayed_weights.default_weight has value {default!r}. Expected a number."
        )
    return DecayedWeights(
        weights=_type_ids("decayed_weights.weights", doc.get("weights", {})),
        half_life_s=float(half_life) * HOURS,
        default_weight=float(default),
    )


def parse_logistic_regression(doc: Mapping[str, Any], source: str) -> LogisticRegression:
    """The coefficients JSON: ``{"intercept", "coefficients": {"<typeId>": c}, "transform",
    "scale", "version"}``."""
    known = {"model", "version", "intercept", "coefficients", "transform", "scale", "description"}
    unknown = sorted(set(doc) - known)
    if unknown:
        raise ConfigError(f"{source} has unknown key(s) {unknown}; valid: {sorted(known)}")
    intercept = doc.get("intercept")
    if isinstance(intercept, bool) or not isinstance(intercept, int | float):
        raise ConfigError(f"{source}: 'intercept' has value {intercept!r}. Expected a number.")
    transform = doc.get("transform", "log1p")
    if transform not in TRANSFORMS:
        raise ConfigError(
            f"{source}: 'transform' has value {transform!r}. Expected one of {list(TRANSFORMS)}."
        )
    scale = doc.get("scale", 100)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
        raise ConfigError(f"{source}: 'scale' has value {scale!r}. Expected a number > 0.")
    return LogisticRegression(
        intercept=float(intercept),
        coefficients=_type_ids(f"{source}: coefficients", doc.get("coefficients")),
        transform=str(transform),
        scale=float(scale),
        version=str(doc.get("version", "")),
    )


def features_to_json(
    decayed: float, decayed_at_s: float, counts: Mapping[int, int]
) -> dict[str, Any]:
    """A lead's features (as their parts: the scoring handler keeps them apart) for its score
    record. The counts keep their int keys, in order: JSON writers make them strings (orjson
    with ``OPT_NON_STR_KEYS``), and ``features_from_json`` reads them back."""
    return {"decayed": decayed, "decayedAt": decayed_at_s, "counts": dict(sorted(counts.items()))}


def features_from_json(doc: Mapping[str, Any]) -> Features:
    return Features(
        float(doc["decayed"]),
        float(doc["decayedAt"]),
        {int(t): int(n) for t, n in doc["counts"].items()},
    )
