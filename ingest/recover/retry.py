"""Calling an upstream again after a retriable failure: doubling waits, or the wait the upstream
asked for; a failure that is not retriable, or one too many, is raised."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pipeline.errors import PipelineError
from pipeline.marketo.errors import QuotaExhausted

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    initial_s: float
    max_s: float
    max_attempts: int | None  # None: for ever (a follower that must not give up)


async def retrying(
    call: Callable[[], Awaitable[T]],
    backoff: Backoff,
    what: str,
    sleep: Sleep = asyncio.sleep,
    on_retry: Callable[[PipelineError], None] | None = None,
) -> T:
    wait, attempt = backoff.initial_s, 0
    while True:
        attempt += 1
        try:
            return await call()
        except QuotaExhausted:
            raise  # waiting until midnight US Central is the caller's decision, not a retry
        except PipelineError as exc:
            if not exc.retriable or (backoff.max_attempts and attempt >= backoff.max_attempts):
                raise
            if on_retry is not None:
                on_retry(exc)
            asked = getattr(exc, "retry_after_s", None)
            delay = min(backoff.max_s, asked if asked is not None else wait)
            log.warning("%s failed (%s); attempt %d again in %.1f s", what, exc, attempt, delay)
            await sleep(delay)
            wait = min(backoff.max_s, wait * 2)
