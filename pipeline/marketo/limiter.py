"""One Marketo instance's limits, as this process may use them.

Marketo allows an instance 100 REST calls per 20 s (error 606 past it), 10 calls at once (615)
and a daily quota (607; 50,000 by default, reset at 00:00 US Central), all shared with every
other integration of the instance. A ``Limiter`` keeps this process within its configured share
of each: a sliding 20-s window, a semaphore, and a count of today's calls. When Marketo answers
606 anyway (another integration used the rate), calls pause for a window; on 607 the quota is
taken as spent until the reset.
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.marketo.errors import QuotaExhausted
from pipeline.marketo.settings import MarketoInstance

WINDOW_S = 20.0
CALLS_PER_WINDOW = 100
CONCURRENT_CALLS = 10
QUOTA_ZONE = ZoneInfo("America/Chicago")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Limiter:
    def __init__(
        self,
        instance: MarketoInstance,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.calls_per_window = max(1, int(CALLS_PER_WINDOW * instance.rate_share))
        self.concurrency = max(1, int(CONCURRENT_CALLS * instance.rate_share))
        self.daily_calls = max(1, int(instance.daily_quota * instance.quota_share))
        self.backoff_s = instance.rate_limit_backoff_s
        self.calls_today = 0
        self._clock, self._now, self._sleep = clock, now, sleep
        self._starts: deque[float] = deque()
        self._slots = asyncio.Semaphore(self.concurrency)
        self._paused_until = 0.0
        self._day: date | None = None

    @asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """Hold one call's place: within today's quota (else ``QuotaExhausted``), at most
        ``concurrency`` at once, at most ``calls_per_window`` started per 20 s."""
        self._take_quota()
        async with self._slots:
            await self._wait_for_window()
            yield

    def too_fast(self) -> None:
        """Marketo said 606: other integrations use the rate too; pause this process' calls for
        ``rate_limit_backoff_seconds``."""
        self._paused_until = max(self._paused_until, self._clock() + self.backoff_s)

    def quota_spent(self) -> None:
        """Marketo said 607: the instance's quota is gone for today, whatever our share says."""
        self._roll_day()
        self.calls_today = self.daily_calls

    def seconds_until_reset(self) -> float:
        local = self._now().astimezone(QUOTA_ZONE)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time())
        return (midnight.replace(tzinfo=QUOTA_ZONE) - local).total_seconds()

    def _roll_day(self) -> None:
        today = self._now().astimezone(QUOTA_ZONE).date()
        if today != self._day:
            self._day, self.calls_today = today, 0

    def _take_quota(self) -> None:
        self._roll_day()
        if self.calls_today >= self.daily_calls:
            raise QuotaExhausted(
                f"this process' share of the daily quota is spent ({self.calls_today} of "
                f"{self.daily_calls} calls today); it resets at 00:00 US Central",
                "607",
                retry_after_s=self.seconds_until_reset(),
            )
        self.calls_today += 1

    async def _wait_for_window(self) -> None:
        while True:
            now = self._clock()
            while self._starts and now - self._starts[0] >= WINDOW_S:
                self._starts.popleft()
            wait = self._paused_until - now
            if len(self._starts) >= self.calls_per_window:
                wait = max(wait, self._starts[0] + WINDOW_S - now)
            if wait <= 0:
                self._starts.append(now)
                return
            await self._sleep(wait)
