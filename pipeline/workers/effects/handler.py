"""The effects role's handler: records that decided effects → sinks → commit.

``handle`` turns a record into its effects (the wing's ``decide``) and keeps them; ``flush``
hands them to their sinks, which retry with backoff; what is still not delivered goes to the sink
dead-letter topic, and the keys of delivered campaign requests to the ledger. Only when those
records are on Kafka does ``flush`` return, and only then does the loop commit: a crash anywhere
before repeats the uncommitted records' effects (at least once), under the same keys.

The loop's id memory skips a repeated record (an alert written twice is one webhook); the
ledger skips a campaign request already made.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from pipeline.consume.handler import Reader
from pipeline.consume.record import Partition, Record
from pipeline.publish import Publisher
from pipeline.topics import OutboundRecord, Topic
from pipeline.workers.effects.effect import (
    NOT_IDEMPOTENT,
    Effect,
    Failure,
    Sink,
    rounds,
    sink_dead_letter,
)
from pipeline.workers.effects.ledger import Ledger
from pipeline.workers.metrics import WorkerMetrics

log = logging.getLogger(__name__)

Decide = Callable[[Record], list[Effect]]


@dataclass(frozen=True)
class EffectsRole:
    """What a wing's effects role reads, how it decides effects, and the sinks that deliver
    them (by ``Effect.sink``)."""

    inputs: tuple[Topic, ...]
    decide: Decide
    sinks: Mapping[str, Sink]


class EffectsHandler:
    replay_horizon_s = 0.0  # nothing to rebuild from the input: its ids are enough

    def __init__(
        self,
        *,
        name: str,
        role: EffectsRole,
        publisher: Publisher,
        dead_letter_topic: str,
        ledger: Ledger,
        metrics: WorkerMetrics,
    ) -> None:
        self._name = name
        self._role = role
        self._publisher = publisher
        self._dead_letter_topic = dead_letter_topic
        self._ledger = ledger
        self._metrics = metrics
        self._pending: list[Effect] = []
        self._outbox: list[OutboundRecord] = []  # dead letters and ledger records for Kafka

    def handle(self, record: Record) -> None:
        for effect in self._role.decide(record):
            self.hold(effect)

    def hold(self, effect: Effect) -> None:
        """Keep an effect for the next delivery, unless the ledger shows it made already."""
        if effect.sink in NOT_IDEMPOTENT and effect.key in self._ledger:
            log.info("%s: %s already delivered; not repeated", effect.sink, effect.key)
            self._metrics.sink_deliveries.labels(effect.sink, "repeat").inc()
            return
        self._pending.append(effect)

    def replay(self, record: Record) -> None:
        return None

    async def flush(self) -> None:
        for f in await self.deliver_held():
            log.error(
                "%s: %s %s not delivered (%s), dead-lettered: %s",
                self._name,
                f.effect.sink,
                f.effect.key,
                f.reason,
                f.detail,
            )
            self._metrics.sink_deliveries.labels(f.effect.sink, "failed").inc()
            self._outbox.append(sink_dead_letter(f, self._dead_letter_topic, self._name))
        await self.publish_with([])

    async def publish_with(self, records: Sequence[OutboundRecord]) -> None:
        """Write ``records`` and what deliveries left to write (ledger records, dead letters).
        On a failure the loop retries flush: only these records are left to write."""
        self._outbox += records
        if self._outbox:
            await self._publisher.publish(self._outbox)
            self._outbox = []

    async def deliver_held(self) -> list[Failure]:
        """Deliver the effects held; the ledger learns the campaign requests made."""
        pending, self._pending = self._pending, []
        if not pending:
            return []
        failures = await self.deliver(pending)
        failed = {id(f.effect) for f in failures}
        for e in pending:
            if e.sink in NOT_IDEMPOTENT and id(e) not in failed:
                self._ledger.add(e.key)
                self._outbox.append(self._ledger.record(e))
        return failures

    async def deliver(self, effects: Sequence[Effect]) -> list[Failure]:
        """Each effect to its sink, the sinks side by side, in rounds that keep the record
        order of effects on one resource; what could not be delivered."""
        sinks = self._role.sinks
        failed: list[Failure] = []
        for batch in rounds(effects):
            by_sink: dict[str, list[Effect]] = defaultdict(list)
            for e in batch:
                by_sink[e.sink].append(e)
            found = await asyncio.gather(*(sinks[s].deliver(es) for s, es in by_sink.items()))
            failed += [f for fs in found for f in fs]
        return failed

    def pending_offset(self, partition: Partition) -> int | None:
        return None  # flush delivers everything handled before the loop commits

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None:
        found = await self._ledger.restore(reader)
        log.info("%s: %d delivered campaign request(s) remembered", self._name, found)

    async def release(self, partitions: Sequence[Partition]) -> None:
        await self.flush()

    def forget(self, partitions: Collection[Partition]) -> None:
        self._pending = [e for e in self._pending if e.source.partition not in partitions]

    async def tick(self, now_s: float) -> None:
        return None
