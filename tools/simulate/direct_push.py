"""One direct Lead Activity push subscription, as Marketo runs it (docs/protocol.md).

Every ``interval_s`` the subscription POSTs the oldest queued activities (at most ``batch_max``)
in the documented body; fewer than ``batch_min`` wait for more, but not longer than
``small_batch_wait_s``. A batch that fails (non-2xx, timeout, no answer) is sent again as it
was, on the schedule of ``schedule.PushState``; while it retries or is paused nothing newer is
sent, and activities older than the retention are dropped unsent.
"""

import asyncio
import logging
import random
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from time import monotonic

import orjson

from tools.simulate.events import SimEvent
from tools.simulate.http import Credentials, Sender
from tools.simulate.schedule import PushPhase, PushState
from tools.simulate.settings import SimulatorSettings
from tools.simulate.stats import AckLog, PathStats
from tools.simulate.tenants import SimTenant

log = logging.getLogger(__name__)

VIA = "direct-push"


async def stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds``; True at once if ``stop`` is set meanwhile."""
    try:
        async with asyncio.timeout(max(0.0, seconds)):
            await stop.wait()
    except TimeoutError:
        return False
    return True


def push_body(munchkin_id: str, message_id: int, events: Iterable[SimEvent]) -> bytes:
    return orjson.dumps(
        {
            "sourceApplication": "Marketo",
            "munchkinId": munchkin_id,
            "messageId": str(message_id),
            "messageCreatedDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "activities": [e.doc for e in events],
        }
    )


class Subscription:
    def __init__(
        self,
        tenant: SimTenant,
        settings: SimulatorSettings,
        sender: Sender,
        credentials: Credentials,
        acks: AckLog,
        stats: PathStats,
        rng: random.Random,
    ) -> None:
        self.tenant = tenant
        self.rng = rng
        self.settings = settings
        self.policy = settings.push
        self.sender = sender
        self.credentials = credentials
        self.acks = acks
        self.stats = stats
        self.state = PushState()
        self.queue: deque[tuple[float, SimEvent]] = deque()
        self.retrying: list[tuple[float, SimEvent]] = []  # the failed batch, sent again as is
        self.duplicates: set[str] = set()
        self._message_id = 1

    @property
    def paused(self) -> bool:
        return self.state.phase is PushPhase.PAUSED

    @property
    def busy(self) -> bool:
        return bool(self.queue or self.retrying)

    @property
    def undelivered(self) -> int:
        return len(self.queue) + len(self.retrying)

    def offer(self, events: Iterable[SimEvent], duplicate: bool = False) -> None:
        now = monotonic()
        for event in events:
            self.queue.append((now, event))
            if duplicate:
                self.duplicates.add(event.id)

    async def run(self, stop: asyncio.Event) -> None:
        while not await stopped_within(stop, self.settings.scaled(self.state.wait_s(self.policy))):
            await self.attempt()

    def _expire(self) -> None:
        oldest_allowed = monotonic() - self.settings.scaled(self.policy.retention_s)
        kept = [(t, e) for t, e in self.retrying if t >= oldest_allowed]
        self.stats.expired_events += len(self.retrying) - len(kept)
        self.retrying = kept
        while self.queue and self.queue[0][0] < oldest_allowed:
            self.queue.popleft()
            self.stats.expired_events += 1

    def _next_batch(self) -> list[tuple[float, SimEvent]]:
        if self.retrying:
            return self.retrying
        if not self.queue:
            return []
        if len(self.queue) < self.policy.batch_min and not self._waited_enough():
            return []
        return [self.queue.popleft() for _ in range(min(len(self.queue), self.policy.batch_max))]

    def _waited_enough(self) -> bool:
        oldest = self.queue[0][0]
        return monotonic() - oldest >= self.settings.scaled(self.policy.small_batch_wait_s)

    async def attempt(self) -> bool:
        """One POST of the head of the queue; True when it was acknowledged."""
        self._expire()
        queued = self._next_batch()
        if not queued:
            return False
        batch = [e for _, e in queued]
        body = push_body(self.tenant.munchkin_id, self._message_id, batch)
        status = await self._post(body)
        ok = status is not None and 200 <= status < 300
        before, self.state = self.state, self.state.after(ok, self.policy)
        self._count(status, before, len(batch))
        self.retrying = [] if ok else queued
        if ok:
            self._message_id += 1  # a retry repeats the message; the next batch is a new one
            self.acks.write(VIA, batch, self.duplicates)
            self._redeliver_some(batch)
        if self.state.phase is not before.phase:
            log.info(
                "push for %s: %s -> %s (status %s)",
                self.tenant.munchkin_id,
                before.phase,
                self.state.phase,
                status,
            )
        return ok

    def _redeliver_some(self, batch: list[SimEvent]) -> None:
        """At-least-once: some acknowledged events come again in a later batch."""
        fraction = self.settings.duplicates
        again = [e for e in batch if e.id not in self.duplicates and self.rng.random() < fraction]
        self.stats.duplicates += len(again)
        self.offer(again, duplicate=True)

    async def _post(self, body: bytes) -> int | None:
        authorization = await self.credentials.authorization()
        if authorization is None:
            return None  # the identity provider gave no token: the attempt fails
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        status = await self.sender.post(
            self.settings.push_url, body, headers, self.policy.timeout_s
        )
        if status == 401:
            self.credentials.rejected()
        return status

    def _count(self, status: int | None, before: PushState, events: int) -> None:
        self.stats.attempts += 1
        self.stats.record(status)
        if before.phase is not PushPhase.ACTIVE:
            self.stats.retries += 1
        if self.state.failures == 0:
            self.stats.acked_deliveries += 1
            self.stats.acked_events += events
