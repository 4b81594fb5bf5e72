"""Limits that keep one noisy or hostile client from hurting the others: per-credential token
buckets (events/s and deliveries/s → 429 with Retry-After) and a cap on concurrent deliveries
(→ 503: shed rather than queue without bound)."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ingest.errors import Overloaded, RateLimited
from ingest.settings import LimitSettings

MAX_BUCKETS = 10_000


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: float
    tokens: float
    updated_at: float

    def take(self, amount: float, now: float) -> float:
        """Take ``amount`` tokens; return 0 if granted, else the seconds until it would be."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated_at) * self.rate_per_s)
        self.updated_at = now
        if amount <= self.tokens:
            self.tokens -= amount
            return 0.0
        return (amount - self.tokens) / self.rate_per_s


class RateLimiter:
    def __init__(self, limits: LimitSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._deliveries: dict[str, TokenBucket] = {}
        self._events: dict[str, TokenBucket] = {}

    def _bucket(
        self, buckets: dict[str, TokenBucket], key: str, rate: float, burst: int
    ) -> TokenBucket:
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= MAX_BUCKETS:  # credentials are configured, so this is a backstop
                buckets.clear()
            bucket = buckets[key] = TokenBucket(rate, burst, burst, self._clock())
        return bucket

    def delivery(self, credential: str) -> None:
        limits = self._limits
        bucket = self._bucket(
            self._deliveries, credential, limits.deliveries_per_s, limits.deliveries_burst
        )
        self._check(bucket, 1, "deliveries", limits.deliveries_per_s)

    def events(self, credential: str, count: int) -> None:
        limits = self._limits
        bucket = self._bucket(self._events, credential, limits.events_per_s, limits.events_burst)
        self._check(bucket, min(count, limits.events_burst), "events", limits.events_per_s)

    def _check(self, bucket: TokenBucket, amount: float, kind: str, rate: float) -> None:
        wait_s = bucket.take(amount, self._clock())
        if wait_s > 0:
            raise RateLimited(
                f"more than {rate:g} {kind}/s for this credential; retry later",
                retry_after_s=max(1, math.ceil(wait_s)),
            )


class InFlight:
    """Counts deliveries being handled and the body bytes they may hold; refuses one more than
    ``limit``, or one whose body would push the total past ``max_bytes`` (a lone delivery is
    always admitted, so a maximum-size body can still get through).

    A delivery reserves what its ``Content-Length`` says and grows its reservation to the decoded
    size of a compressed body, so 7 KiB that inflate to 7 MiB count as 7 MiB.
    """

    def __init__(self, limit: int, max_bytes: int) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.count = 0
        self.bytes = 0

    def reserve(self, size: int) -> "Reservation":
        if self.count >= self.limit or (self.count and self.bytes + size > self.max_bytes):
            raise self._full()
        self.count += 1
        self.bytes += size
        return Reservation(self, size)

    def _full(self) -> Overloaded:
        return Overloaded(f"{self.count} deliveries ({self.bytes} bytes) in flight; retry shortly")


class Reservation:
    """One delivery's place in the in-flight budget; ``release`` gives it back exactly once."""

    def __init__(self, budget: InFlight, size: int) -> None:
        self._budget = budget
        self.size = size
        self._released = False

    def grow(self, extra: int) -> None:
        budget = self._budget
        if extra <= 0:
            return
        if budget.count > 1 and budget.bytes + extra > budget.max_bytes:
            raise budget._full()
        budget.bytes += extra
        self.size += extra

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._budget.count -= 1
            self._budget.bytes -= self.size
