"""The Marketo limiter keeps a process within its share of an instance's limits (no network)."""

import asyncio
from datetime import UTC, datetime

import pytest

from pipeline.config import Secret
from pipeline.marketo.errors import QuotaExhausted
from pipeline.marketo.limiter import WINDOW_S, Limiter
from pipeline.marketo.settings import MarketoInstance


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def instance(**fields: float) -> MarketoInstance:
    return MarketoInstance("123-ABC-456", "https://i", "https://r", "c", Secret("s"), **fields)  # type: ignore[arg-type]


def limiter(clock: Clock, when: datetime, **fields: float) -> Limiter:
    return Limiter(instance(**fields), clock=clock, now=lambda: when, sleep=clock.sleep)


NOON = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)  # 12:00 in Chicago


async def test_the_window_holds_the_share_of_100_calls_per_20_seconds() -> None:
    clock = Clock()
    limits = limiter(clock, NOON, rate_share=0.1)
    assert (limits.calls_per_window, limits.concurrency) == (10, 1)
    for _ in range(10):
        async with limits.call():
            pass
    assert clock.slept == []
    async with limits.call():  # the 11th waits for the first to leave the window
        pass
    assert clock.slept == [pytest.approx(WINDOW_S)]


async def test_concurrent_calls_are_capped() -> None:
    limits = limiter(Clock(), NOON, rate_share=0.2)
    inside = peak = 0

    async def one() -> None:
        nonlocal inside, peak
        async with limits.call():
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.01)
            inside -= 1

    await asyncio.gather(*(one() for _ in range(8)))
    assert peak == limits.concurrency == 2


async def test_606_pauses_every_call_for_a_window() -> None:
    clock = Clock()
    limits = limiter(clock, NOON)
    limits.too_fast()
    async with limits.call():
        pass
    assert sum(clock.slept) == pytest.approx(WINDOW_S)


async def test_the_daily_share_is_spent_then_resets_at_midnight_in_chicago() -> None:
    clock = Clock()
    today = [NOON]
    limits = Limiter(
        instance(daily_quota=100, quota_share=0.03),
        clock=clock,
        now=lambda: today[0],
        sleep=clock.sleep,
    )
    for _ in range(3):
        async with limits.call():
            pass
    with pytest.raises(QuotaExhausted) as spent:
        async with limits.call():
            pass
    assert spent.value.retry_after_s == pytest.approx(12 * 3600)  # noon to midnight
    assert spent.value.retriable
    today[0] = datetime(2026, 3, 3, 6, 1, tzinfo=UTC)  # 00:01 in Chicago, the next day
    async with limits.call():
        pass
    assert limits.calls_today == 1


async def test_607_spends_the_quota_whatever_the_share_says() -> None:
    limits = limiter(Clock(), NOON)
    limits.quota_spent()
    with pytest.raises(QuotaExhausted):
        async with limits.call():
            pass
