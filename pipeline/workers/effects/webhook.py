"""The webhook sink: one signed ``POST`` per effect, following the Standard Webhooks convention.

Headers: ``webhook-id`` (the effect's idempotency key: the alert id, the same on every retry and
redelivery, so a receiver can drop repeats), ``webhook-timestamp`` (Unix seconds when this
attempt was sent: receivers refuse stale ones, so each retry is signed again) and
``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` once per
configured secret, space-separated, so a receiver holding the old or the new secret verifies
during a rotation. Signing is the convention's own library (``standardwebhooks``).

429, 5xx and no answer are retried (``Retry-After`` honoured), other 4xx are not.
"""

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks import Webhook

from pipeline.config import Secret
from pipeline.workers.effects.effect import Effect, Failure, failure
from pipeline.workers.errors import DELIVERY_ERRORS, WebhookError
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.sinks import with_retries

CONCURRENT_POSTS = 10


@dataclass(frozen=True)
class Endpoint:
    url: Secret  # incoming-webhook URLs are credentials
    secrets: tuple[Secret, ...] = ()  # signing secrets (``whsec_<base64>``); none: unsigned
    timeout_s: float = 5.0
    max_attempts: int = 5
    retry_initial_s: float = 0.5


def signature_headers(
    message_id: str, at_s: float, body: bytes, secrets: Sequence[Secret]
) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt; no signature header without secrets."""
    timestamp = int(at_s)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(timestamp)}
    if secrets:
        moment = datetime.fromtimestamp(timestamp, UTC)
        text = body.decode()
        signatures = [Webhook(s.reveal()).sign(message_id, moment, text) for s in secrets]
        headers["webhook-signature"] = " ".join(signatures)
    return headers


class WebhookSink:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        endpoint: Endpoint,
        metrics: WorkerMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._session = session
        self._endpoint = endpoint
        self._metrics = metrics
        self._clock = clock
        self._slots = asyncio.Semaphore(CONCURRENT_POSTS)

    async def deliver(self, effects: Sequence[Effect]) -> list[Failure]:
        found = await asyncio.gather(*(self._deliver_one(e) for e in effects))
        return [f for f in found if f is not None]

    async def _deliver_one(self, effect: Effect) -> Failure | None:
        e = self._endpoint
        try:
            async with self._slots:
                await with_retries(
                    lambda: self._post(effect), attempts=e.max_attempts, initial_s=e.retry_initial_s
                )
        except DELIVERY_ERRORS as exc:
            return failure(effect, exc)
        self._metrics.sink_deliveries.labels("webhook", "ok").inc()
        return None

    async def _post(self, effect: Effect) -> None:
        e = self._endpoint
        headers = signature_headers(effect.key, self._clock(), effect.body, e.secrets)
        headers["Content-Type"] = "application/json"
        try:
            async with self._session.post(
                e.url.reveal(),
                data=effect.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=e.timeout_s),
            ) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WebhookError(f"webhook did not answer: {type(exc).__name__}") from exc
        if status < 300:
            return
        error = WebhookError(f"webhook answered HTTP {status}")
        if status != 429 and status < 500:
            error.retriable = False
        if retry_after.isdigit():
            error.retry_after_s = float(retry_after)
        raise error
