"""What every sink of the workers does: deliver after the records are on Kafka, retry, give up.

A sink runs after its records are on Kafka (the durable copy, replayable), retries retriable
failures with exponential backoff up to its ``max_attempts``, then gives up: the effects role
writes what it could not deliver to the sink dead-letter topic
(``datastreams_worker_sink_deliveries_total{result="failed"}``) and never blocks the consume loop
for longer than its attempts take. The sinks are the effects role's (``effects/webhook.py``,
``effects/marketo.py``) and the alerting wing's log (``alerting/sinks.py``).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pipeline.workers.errors import DELIVERY_ERRORS
from pipeline.workers.metrics import WorkerMetrics

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF_S = 30.0


async def with_retries(
    action: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    initial_s: float,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``action``; after a retriable failure wait (doubling, or ``retry_after_s``)."""
    delay = initial_s
    for attempt in range(1, attempts + 1):
        try:
            return await action()
        except DELIVERY_ERRORS as exc:
            wait = exc.retry_after_s or delay
            # A wait past the longest backoff (Marketo's quota, until midnight) is not worth
            # holding the consume loop for: the caller dead-letters at once.
            if not exc.retriable or attempt == attempts or wait > MAX_BACKOFF_S:
                raise
            log.info("%s; retry %d/%d in %.1f s", exc, attempt, attempts - 1, wait)
            await sleep(wait)
            delay = min(delay * 2, MAX_BACKOFF_S)
    raise AssertionError("unreachable")


def count_results(
    metrics: WorkerMetrics,
    sink: str,
    results: list[dict[str, Any]],
    good: tuple[str, ...],
    sent: int,
) -> None:
    """Marketo's per-lead ``results`` counted: a ``good`` status as ok, the rest of ``sent`` as
    skipped (logged with Marketo's reasons)."""
    ok = sum(1 for r in results if r.get("status") in good)
    skipped = max(0, sent - ok)
    if ok:
        metrics.sink_deliveries.labels(sink, "ok").inc(ok)
    if skipped:
        reasons = [r.get("reasons") for r in results if r.get("status") not in good]
        log.warning("%s: %d lead(s) skipped by Marketo: %s", sink, skipped, reasons[:5])
        metrics.sink_deliveries.labels(sink, "skipped").inc(skipped)
