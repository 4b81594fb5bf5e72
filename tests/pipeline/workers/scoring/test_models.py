"""Scoring models: pure functions, deterministic."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import ConfigError
from pipeline.workers.scoring.models import (
    Activity,
    DecayedWeights,
    Features,
    LogisticRegression,
    features_from_json,
    features_to_json,
    parse_decayed_weights,
    parse_logistic_regression,
)
from tests.pipeline.workers.harness import DEPLOY

DAY = 86400.0


def run(model: DecayedWeights | LogisticRegression, activities: list[Activity]) -> Features:
    features = Features()
    for a in activities:
        features = model.apply(features, a)
    return features


def test_decayed_weights_halve_every_half_life() -> None:
    model = DecayedWeights({2: 10.0, 10: 1.0}, half_life_s=7 * DAY)
    f = run(model, [Activity(2, 0.0), Activity(10, 7 * DAY)])
    assert model.score(f) == pytest.approx(10 * 0.5 + 1)
    assert f.counts == {2: 1, 10: 1}


def test_out_of_order_activities_give_the_same_score() -> None:
    model = DecayedWeights({2: 10.0, 10: 1.0}, half_life_s=DAY)
    in_order = run(model, [Activity(2, 0.0), Activity(10, DAY)])
    reversed_ = run(model, [Activity(10, DAY), Activity(2, 0.0)])
    assert model.score(in_order) == pytest.approx(model.score(reversed_))


def test_unweighted_types_count_but_do_not_score() -> None:
    model = DecayedWeights({2: 10.0})
    f = run(model, [Activity(6, 0.0), Activity(6, 1.0)])
    assert model.score(f) == 0
    assert f.counts == {6: 2}


def test_logistic_regression_over_counts() -> None:
    model = LogisticRegression(
        intercept=-2.0, coefficients={2: 1.0}, transform="identity", scale=100
    )
    f = run(model, [Activity(2, 0.0), Activity(2, 1.0)])
    assert model.score(f) == pytest.approx(50.0)
    log1p = LogisticRegression(intercept=0.0, coefficients={2: 1.0}, transform="log1p", scale=1)
    assert log1p.score(f) == pytest.approx(1 / (1 + math.exp(-math.log1p(2))))
    assert LogisticRegression(-1000.0, {}).score(Features()) == pytest.approx(0.0)  # no overflow


def test_the_example_coefficients_file_loads() -> None:
    doc = json.loads((DEPLOY / "lead-model.example.json").read_text())
    model = parse_logistic_regression(doc, "example")
    assert model.coefficients[2] == 1.6
    assert model.transform == "log1p"
    assert 0 < model.score(Features()) < 5


def test_features_round_trip_through_json_exactly() -> None:
    model = DecayedWeights({1: 0.1, 2: 1 / 3})
    f = run(model, [Activity(1, 0.0), Activity(2, 12345.678), Activity(1, 99999.1)])
    assert features_from_json(json.loads(json.dumps(features_to_json(*f)))) == f


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"intercept": "x", "coefficients": {}}, "'intercept' has value 'x'"),
        ({"intercept": 0, "coefficients": {"open": 1}}, "key 'open' is not an activity type id"),
        ({"intercept": 0, "coefficients": {}, "transform": "sqrt"}, "'transform' has value 'sqrt'"),
        ({"intercept": 0, "coefficients": {}, "bias": 1}, "unknown key(s) ['bias']"),
    ],
)
def test_invalid_coefficients_are_reported(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_logistic_regression(doc, "model.json")
    assert message in str(raised.value)


def test_invalid_weights_are_reported() -> None:
    with pytest.raises(ConfigError, match="half_life_hours"):
        parse_decayed_weights({"half_life_hours": 0})
    with pytest.raises(ConfigError, match=r"weights\.2"):
        parse_decayed_weights({"weights": {"2": "ten"}})


MODELS = [
    DecayedWeights({2: 10.0, 10: 1.0, 9: -25.0, 7: 0.5}, half_life_s=7 * DAY, default_weight=0.25),
    DecayedWeights({2: 10.0}, half_life_s=3600.0),
    LogisticRegression(intercept=-2.0, coefficients={2: 1.0, 10: 0.3}, transform="log1p"),
    LogisticRegression(intercept=1.0, coefficients={9: -2.0}, transform="identity", scale=10),
]


@given(
    st.sampled_from(MODELS),
    st.lists(
        st.tuples(st.sampled_from([2, 7, 9, 10, 11]), st.floats(-30 * DAY, 30 * DAY)),
        max_size=30,
    ),
)
def test_step_in_place_is_apply(
    model: DecayedWeights | LogisticRegression, activities: list[tuple[int, float]]
) -> None:
    features = Features()
    decayed, decayed_at_s = 0.0, 0.0
    counts: dict[int, int] = {}
    for type_id, at_s in activities:
        features = model.apply(features, Activity(type_id, at_s))
        decayed, decayed_at_s, score = model.step(decayed, decayed_at_s, counts, type_id, at_s)
        assert (decayed, decayed_at_s, counts) == tuple(features)
        assert score == model.score_of(decayed, counts) == model.score(features)
