"""``ce_time_s``, the scoring worker's reading of ``ce_time``, is ``event_time_s`` exactly: the
same float for every time, the same error for every other input."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.consume import event_time
from pipeline.consume.event_time import ce_time_s, event_time_s
from pipeline.envelope import format_time


def slow(ce_time: bytes) -> float | type[Exception]:
    try:
        return event_time_s(ce_time.decode())
    except Exception as exc:
        return type(exc)


def fast(ce_time: bytes) -> float | type[Exception]:
    try:
        return ce_time_s(ce_time)
    except Exception as exc:
        return type(exc)


moments = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@settings(max_examples=500)
@given(moments, st.lists(st.integers(0, 999), min_size=1, max_size=5))
def test_times_as_the_ingress_writes_them_read_the_same_both_ways(
    moment: datetime, millis: list[int]
) -> None:
    for ms in millis:  # the first of a second fills the cache, the others read it
        at = moment.replace(microsecond=0) + timedelta(milliseconds=ms)
        text = format_time(at).encode()
        assert fast(text) == slow(text)
        assert fast(text) == slow(text)


@settings(max_examples=500)
@given(
    st.one_of(
        st.binary(max_size=30),
        st.text(max_size=30).map(str.encode),
        st.tuples(
            st.sampled_from(
                [
                    "2026-03-02T08:55:00",
                    "2026-3-02T08:55:00",
                    "0000-00-00T00:00:00",
                    "2026-03-02 08:55:00",
                    "+026-03-02T08:55:00",
                    "20260302T085500:00",
                ]
            ),
            st.sampled_from([".123Z", ".12Z", ".1234Z", "Z", "+00:00", ".123+01:00", ".123z", ""]),
        ).map(lambda t: "".join(t).encode()),
    )
)
@example(b"2026-03-02T08:55:00.999Z")
@example(b"2026-03-02T08:55:00.123+01:00")
@example(b"2026-03-02T08:55:00.\xff\xffZ")
def test_any_other_bytes_read_the_same_or_fail_the_same(text: bytes) -> None:
    assert fast(text) == slow(text)
    assert fast(text) == slow(text)


def test_the_cache_is_bounded() -> None:
    start = datetime(2026, 3, 2, tzinfo=UTC)
    for n in range(event_time._SECONDS_KEPT + 10):
        ce_time_s(format_time(start + timedelta(seconds=n)).encode())
    assert 0 < len(event_time._seconds) <= event_time._SECONDS_KEPT


def test_an_unreadable_time_is_unusable_input() -> None:
    from pipeline.errors import UnusableInput

    with pytest.raises(UnusableInput):
        ce_time_s(b"2026-03-02T08:61:00.000Z")
