import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import Overloaded, RateLimited
from ingest.limits import InFlight, RateLimiter, TokenBucket
from ingest.parse import deeper_than
from ingest.settings import LimitSettings
from pipeline.config import MIB


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate_per_s=10, burst=20, tokens=20, updated_at=0)
    assert bucket.take(20, now=0) == 0
    assert bucket.take(5, now=0) == pytest.approx(0.5)
    assert bucket.take(5, now=0.5) == 0
    assert bucket.take(100, now=100) == pytest.approx(8.0)  # never more than the burst


def test_rate_limiter_is_per_credential_and_says_when_to_retry() -> None:
    clock = Clock()
    limiter = RateLimiter(LimitSettings(events_per_s=10, events_burst=10), clock)
    limiter.events("a", 10)
    limiter.events("b", 10)
    with pytest.raises(RateLimited) as info:
        limiter.events("a", 5)
    assert info.value.retry_after_s == 1
    clock.now = 0.5
    limiter.events("a", 5)


def test_a_delivery_larger_than_the_burst_is_not_refused_forever() -> None:
    limiter = RateLimiter(LimitSettings(events_per_s=10, events_burst=10), Clock())
    limiter.events("a", 500)  # counted as a full burst


def test_in_flight_sheds_beyond_its_limit() -> None:
    gate = InFlight(2, max_bytes=1000)
    first = gate.reserve(10)
    gate.reserve(10)
    with pytest.raises(Overloaded):
        gate.reserve(10)
    first.release()
    first.release()  # once only: a second release must not free someone else's place
    gate.reserve(10)
    with pytest.raises(Overloaded):
        gate.reserve(10)


def test_in_flight_bounds_body_bytes_but_admits_a_lone_large_body() -> None:
    gate = InFlight(10, max_bytes=1000)
    lone = gate.reserve(5000)  # alone: admitted
    with pytest.raises(Overloaded):
        gate.reserve(1)
    lone.release()
    gate.reserve(600)
    with pytest.raises(Overloaded):
        gate.reserve(600)
    gate.reserve(400)


def test_a_lone_reservation_may_grow_past_the_budget() -> None:
    gate = InFlight(10, max_bytes=1000)
    lone = gate.reserve(10)
    lone.grow(5000)
    assert gate.bytes == 5010
    lone.release()
    assert (gate.count, gate.bytes) == (0, 0)


@pytest.mark.parametrize(
    ("doc", "limit", "deep"),
    [
        ({"a": 1}, 1, False),
        ({"a": {"b": 1}}, 1, True),
        ({"a": [{"b": [1]}]}, 4, False),
        ({"a": [{"b": [1]}]}, 3, True),
        ([[[[]]]], 3, True),
        ("scalar", 1, False),
        ([1, 2, {"x": "y"}], 2, False),
    ],
)
def test_depth(doc: object, limit: int, deep: bool) -> None:
    assert deeper_than(doc, limit) is deep


def nesting(doc: object) -> int:
    if isinstance(doc, dict):
        return 1 + max((nesting(v) for v in doc.values()), default=0)
    if isinstance(doc, list):
        return 1 + max((nesting(v) for v in doc), default=0)
    return 0


json_docs = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner, max_size=3)
    ),
    max_leaves=30,
)


@given(json_docs, st.integers(min_value=1, max_value=8))
def test_depth_agrees_with_the_recursive_definition(doc: object, limit: int) -> None:
    assert deeper_than(doc, limit) is (nesting(doc) > limit)


def test_a_reservation_grows_to_the_decoded_size() -> None:
    budget = InFlight(limit=64, max_bytes=4 * MIB)
    holder = budget.reserve(7 * 1024)
    inflating = budget.reserve(7 * 1024)
    with pytest.raises(Overloaded):
        inflating.grow(7 * MIB)
    inflating.release()
    holder.release()
    assert (budget.count, budget.bytes) == (0, 0)
