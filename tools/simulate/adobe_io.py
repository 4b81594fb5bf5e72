"""One Adobe I/O Events webhook registration, as I/O Events runs it (docs/protocol.md).

First the challenge: ``GET <url>?challenge=<uuid>`` must answer 200 echoing the value (bare text
or ``{"challenge": ...}``), otherwise the registration never delivers. Then queued events go out
as deliveries (one event, or a JSON array of up to 20 events and 2 MB), signed with both keys,
with the documented headers, up to ``concurrency`` at once. Every delivery has its own retry
lifecycle (``schedule.verdict`` and ``schedule.retry_wait_s``); ``x-adobe-retry-count`` counts
its retries and ``x-adobe-delivery-id`` is new on every attempt.
"""

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

import orjson

from tools.simulate.events import SimEvent
from tools.simulate.http import Sender
from tools.simulate.schedule import Verdict, retry_wait_s, verdict
from tools.simulate.settings import SimulatorSettings
from tools.simulate.signing import SigningKey, signed_headers
from tools.simulate.stats import AckLog, PathStats
from tools.simulate.tenants import SimTenant

log = logging.getLogger(__name__)

VIA = "adobe-io"
PROVIDERS = {
    "lead-activity": "dx_marketo_activity",
    "user-audit": "dx_marketo_audit_user",
    "notification": "dx_marketo_notification",
}  # only dx_marketo_audit_user is documented (S23); the others follow its pattern


@dataclass
class Delivery:
    events: list[SimEvent]
    body: bytes
    signed: dict[str, str]
    first_at: float = field(default_factory=monotonic)
    retries: int = 0

    def headers(self) -> dict[str, str]:
        first = self.events[0]
        headers = {
            **self.signed,
            "user-agent": "Adobe/1.0",
            "accept-encoding": "deflate,compress,identity",
            "x-adobe-delivery-id": str(uuid.uuid4()),
            "x-adobe-event-code": first.code,
            "x-adobe-event-id": first.adobe_event_id or first.id,
            "x-adobe-provider": PROVIDERS.get(first.stream, "dx_marketo"),
            "x-request-id": str(uuid.uuid4()),
        }
        if self.retries:
            headers["x-adobe-retry-count"] = str(self.retries)
        return headers


def challenge_echoed(value: str, content_type: str, text: str) -> bool:
    if content_type == "application/json":
        with contextlib.suppress(orjson.JSONDecodeError):
            doc = orjson.loads(text)
            return isinstance(doc, dict) and doc.get("challenge") == value
        return False
    return text.strip().strip('"') == value


class Registration:
    def __init__(
        self,
        tenant: SimTenant,
        settings: SimulatorSettings,
        sender: Sender,
        keys: tuple[SigningKey, SigningKey],
        acks: AckLog,
        stats: PathStats,
        rng: random.Random,
    ) -> None:
        self.tenant = tenant
        self.settings = settings
        self.policy = settings.adobe
        self.sender = sender
        self.keys = keys
        self.acks = acks
        self.stats = stats
        self.rng = rng
        self.queue: deque[SimEvent] = deque()
        self.duplicates: set[str] = set()
        self.verified: bool | None = None  # None until the challenge has been answered
        self._slots = asyncio.Semaphore(self.policy.concurrency)
        self._waiting = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> bool:
        return bool(self.queue or self._tasks)

    def offer(self, events: list[SimEvent], duplicate: bool = False) -> None:
        self.queue.extend(events)
        if duplicate:
            self.duplicates.update(e.id for e in events)
        if self.queue:
            self._waiting.set()

    async def handshake(self) -> bool:
        value = str(uuid.uuid4())
        status, content_type, text = await self.sender.challenge(
            self.settings.adobe_url, value, self.policy.timeout_s
        )
        self.verified = status == 200 and challenge_echoed(value, content_type, text)
        if not self.verified:
            log.error(
                "registration for %s: challenge not echoed (status %s); no deliveries",
                self.tenant.munchkin_id,
                status or "no answer",
            )
        return self.verified

    async def run(self, stop: asyncio.Event) -> None:
        if not await self.handshake():
            return
        stopping = asyncio.create_task(stop.wait())
        try:
            while await self._wait_for_events(stopping):
                if self.policy.batch and len(self.queue) < self.policy.max_batch_events:
                    await asyncio.sleep(self.policy.batch_window_s)
                await self._slots.acquire()
                self._spawn(self._deliver(self._next_delivery()))
        finally:
            stopping.cancel()

    async def _wait_for_events(self, stopping: asyncio.Task[bool]) -> bool:
        while not self.queue:
            self._waiting.clear()
            waiting = asyncio.create_task(self._waiting.wait())
            await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if stopping.done():
                return False
        return not stopping.done()

    def _next_delivery(self) -> Delivery:
        limit = self.policy.max_batch_events if self.policy.batch else 1
        events: list[SimEvent] = []
        parts: list[bytes] = []
        size = 2
        while self.queue and len(events) < limit:
            part = orjson.dumps(self.queue[0].doc)
            if events and size + len(part) + 1 > self.policy.max_batch_bytes:
                break
            events.append(self.queue.popleft())
            parts.append(part)
            size += len(part) + 1
        body = b"[" + b",".join(parts) + b"]" if self.policy.batch else parts[0]
        return Delivery(events, body, signed_headers(body, *self.keys))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            status = await self.sender.post(
                self.settings.adobe_url, delivery.body, delivery.headers(), self.policy.timeout_s
            )
        finally:
            self._slots.release()
        self._count(status, delivery)
        outcome = verdict(status)
        if outcome is Verdict.ACKNOWLEDGED:
            self.acks.write(VIA, delivery.events, self.duplicates)
            self._redeliver_some(delivery.events)
        elif outcome is Verdict.DROP:
            self.stats.dropped_events += len(delivery.events)
        else:
            self._schedule_retry(delivery)

    def _schedule_retry(self, delivery: Delivery) -> None:
        delivery.retries += 1
        wait = self.settings.scaled(retry_wait_s(delivery.retries, self.policy))
        window = self.settings.scaled(self.policy.retry_window_s)
        if monotonic() + wait - delivery.first_at > window:
            self.stats.expired_events += len(delivery.events)
            return
        self._spawn(self._retry_later(delivery, wait))

    async def _retry_later(self, delivery: Delivery, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        await self._slots.acquire()
        await self._deliver(delivery)

    def _redeliver_some(self, events: list[SimEvent]) -> None:
        fraction = self.settings.duplicates
        again = [e for e in events if e.id not in self.duplicates and self.rng.random() < fraction]
        self.stats.duplicates += len(again)
        self.offer(again, duplicate=True)

    def _count(self, status: int | None, delivery: Delivery) -> None:
        self.stats.attempts += 1
        self.stats.record(status)
        if delivery.retries:
            self.stats.retries += 1
        if status is not None and 200 <= status < 300:
            self.stats.acked_deliveries += 1
            self.stats.acked_events += len(delivery.events)

    async def close(self) -> None:
        """Cancel scheduled retries and attempts in flight (their events stay unacknowledged)."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
