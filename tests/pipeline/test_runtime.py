"""The process's garbage-collector policy (``pipeline.runtime``), without a broker."""

import gc
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline import runtime
from pipeline.envelope import format_epoch_s, format_time


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The generations ``collect_between_batches`` asks to collect, with the counts it sees set
    by the test (``gc.get_count`` patched: the real ones move with every allocation)."""
    asked: list[int] = []

    def collect(generation: int = 2) -> int:
        asked.append(generation)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    return asked


def counts(monkeypatch: pytest.MonkeyPatch, young: int, middle: int = 0, old: int = 0) -> None:
    monkeypatch.setattr(gc, "get_count", lambda: (young, middle, old))
    monkeypatch.setattr(gc, "get_threshold", lambda: (50_000, 20, 20))


def test_nothing_is_collected_while_few_young_objects_were_allocated(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts(monkeypatch, 50_000 // runtime.YOUNG_SHARE - 1)
    runtime.collect_between_batches()
    assert collections == []


def test_the_young_generation_is_collected_between_batches_before_the_threshold(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts(monkeypatch, 50_000 // runtime.YOUNG_SHARE, middle=5, old=3)
    runtime.collect_between_batches()
    assert collections == [0]


@pytest.mark.parametrize(
    ("middle", "old", "generation"),
    [(19, 3, 0), (20, 20, 0), (21, 3, 1), (21, 21, 2), (3, 21, 2), (25, 20, 1)],
)
def test_an_older_generation_is_collected_when_cpython_would_collect_it(
    collections: list[int], monkeypatch: pytest.MonkeyPatch, middle: int, old: int, generation: int
) -> None:
    # CPython collects generation 1 when its count (of young collections) is past its threshold
    # of 20, and generation 2 when its count (of collections of generation 1) is.
    counts(monkeypatch, 40_000, middle, old)
    runtime.collect_between_batches()
    assert collections == [generation]


def test_a_threshold_of_zero_keeps_automatic_collection_off(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc, "get_count", lambda: (10**9, 100, 100))
    monkeypatch.setattr(gc, "get_threshold", lambda: (0, 20, 20))
    runtime.collect_between_batches()
    assert collections == []


def test_a_disabled_collector_stays_off(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts(monkeypatch, 10**9, 100, 100)
    monkeypatch.setattr(gc, "isenabled", lambda: False)
    runtime.collect_between_batches()
    assert collections == []


@given(st.floats(min_value=-62_135_596_800 + 1, max_value=253_402_300_799, allow_nan=False))
def test_epoch_texts_are_the_whole_seconds_formatted_however_often_asked(at_s: float) -> None:
    expected = format_time(datetime.fromtimestamp(math.floor(at_s), UTC), "seconds")
    assert format_epoch_s(at_s) == expected
    assert format_epoch_s(at_s) == expected  # from the cache
    assert format_epoch_s(math.floor(at_s) + 0.999) == expected


def test_the_epoch_text_cache_is_bounded() -> None:
    from pipeline import envelope

    for second in range(envelope._EPOCH_TEXTS_KEPT + 10):
        format_epoch_s(1_700_000_000 + second)
    assert 0 < len(envelope._epoch_texts) <= envelope._EPOCH_TEXTS_KEPT
