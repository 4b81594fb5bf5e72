"""What this member does when the group moves partitions, and the state it keeps per partition.

``revoked`` waits for the batch in hand (the lock), asks the handler to make everything durable
(``release``), flushes and commits. ``assigned`` restores each partition it did not keep: it
re-reads the partition from ``now - max(dedup window, handler.replay_horizon_s)`` up to the
committed offset, remembering the ``ce_id`` of every record and replaying the recent ones into the
handler (``handler.replay``: state only, no outputs), then calls ``handler.restore`` for state kept
elsewhere (a compacted topic). A partition that comes back to this member at the offset it left is
kept as it is.
"""

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, KafkaError

from pipeline.consume.handler import Handler
from pipeline.consume.metrics import ConsumeMetrics
from pipeline.consume.reader import PartitionReader, topic_partition
from pipeline.consume.record import Partition, Record, decode_envelope
from pipeline.consume.settings import ConsumeSettings
from pipeline.dedup import DedupMemory

log = logging.getLogger(__name__)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: "Membership") -> None:
        self._member = member

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._member._on_revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._member._on_assigned({Partition(tp.topic, tp.partition) for tp in assigned})


class Membership(ABC):
    """This member's share of the group: the partitions it owns, where each stands (the next
    offset to handle, the offset committed, the ids seen) and how they are handed over.
    ``ConsumeLoop`` is the member that also fetches and handles; the lock keeps a rebalance
    and a batch apart."""

    def __init__(
        self,
        *,
        name: str,
        settings: ConsumeSettings,
        handler: Handler,
        reader: PartitionReader,
        metrics: ConsumeMetrics,
        clock: Callable[[], float],
    ) -> None:
        self.name = name
        self._settings = settings
        self._handler = handler
        self._reader = reader
        self._metrics = metrics
        self._clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._generation = 0
        self._owned: set[Partition] = set()
        self._released: dict[Partition, int | None] = {}
        self._memories: dict[Partition, DedupMemory] = {}
        self._next: dict[Partition, int] = {}
        self._committed: dict[Partition, int] = {}
        self._ready = asyncio.Event()
        self._last_commit = time.monotonic()

    @property
    def owned(self) -> frozenset[Partition]:
        return frozenset(self._owned)

    def listener(self) -> ConsumerRebalanceListener:
        return _Listener(self)

    @abstractmethod
    async def _flush(self) -> None:
        """Make what was handled durable (dead letters, then the handler's outputs)."""

    @abstractmethod
    def _fail(self, exc: BaseException) -> None:
        """Stop the member after an error it cannot recover from."""

    async def _commit(self, partitions: Collection[Partition]) -> None:
        consumer = self._consumer
        self._last_commit = time.monotonic()
        offsets: dict[Partition, int] = {}
        for part in partitions:
            next_offset = self._next.get(part)
            if next_offset is None:
                continue
            hold = self._handler.pending_offset(part)
            offset = next_offset if hold is None else min(next_offset, hold)
            if offset > self._committed.get(part, -1):
                offsets[part] = offset
        if not offsets or consumer is None:
            return
        try:
            await consumer.commit({topic_partition(p): o for p, o in offsets.items()})
        except (CommitFailedError, KafkaError) as exc:
            self._metrics.commits.labels(self.name, "failed").inc()
            log.warning("%s: commit failed (%s); retried later", self.name, type(exc).__name__)
            return
        self._committed.update(offsets)
        self._metrics.commits.labels(self.name, "ok").inc()

    async def _on_revoked(self) -> None:
        async with self._lock:
            self._generation += 1
            owned, self._owned = set(self._owned), set()
            if not owned:
                return
            try:
                await self._release(owned)
            except Exception as exc:
                log.warning(
                    "%s: could not make state durable before the rebalance (%s: %s)",
                    self.name,
                    type(exc).__name__,
                    exc,
                )
            self._released = {p: self._committed.get(p) for p in owned}
            self._metrics.assigned.labels(self.name).set(0)

    async def _release(self, partitions: set[Partition]) -> None:
        await self._handler.release(sorted(partitions))
        await self._flush()
        await self._commit(partitions)

    async def _on_assigned(self, assigned: set[Partition]) -> None:
        async with self._lock:
            if self._consumer is None:
                # stop() is leaving the group and a rebalance completed meanwhile (replicas
                # stopped together): this member takes nothing, the group hands it on.
                log.info("%s: stopping; ignored an assignment of %d", self.name, len(assigned))
                return
            try:
                await self._assign(assigned)
            except Exception as exc:
                self._fail(exc)
                raise

    async def _assign(self, assigned: set[Partition]) -> None:
        consumer = self._consumer
        assert consumer is not None
        # aiokafka fetches for the new assignment while this callback runs, so the consumer's
        # position is no start point: committed offsets are, else the start policy's end of
        # the partition. The consumer is sought there and batches fetched meanwhile dropped.
        starts: dict[Partition, int] = {}
        for part in assigned:
            committed = await consumer.committed(topic_partition(part))
            if committed is not None:
                starts[part] = committed
        unset = assigned - set(starts)
        if unset:
            if self._settings.start_from == "latest":
                starts.update(await self._reader.end_offsets(unset))
            else:
                starts.update(await self._reader.offsets_since(unset, 0))
        for part in assigned:
            consumer.seek(topic_partition(part), starts[part])
        if unset:
            await self._commit_start(consumer, {p: starts[p] for p in unset})
        self._generation += 1
        kept = {
            p
            for p in assigned
            if p in self._released and self._released[p] == starts[p] == self._next.get(p)
        }
        self._drop(set(self._released) - kept)
        self._released = {}
        fresh = assigned - kept
        if fresh:
            self._drop(fresh)
            await self._restore(fresh, starts)
        for part in fresh:
            self._next[part] = self._committed[part] = starts[part]
        self._owned = set(assigned)
        self._metrics.assigned.labels(self.name).set(len(assigned))
        self._ready.set()
        log.info(
            "%s: assigned %s (kept %d, restored %d)",
            self.name,
            ", ".join(sorted(map(str, assigned))) or "nothing",
            len(kept),
            len(fresh),
        )

    async def _commit_start(self, consumer: AIOKafkaConsumer, starts: dict[Partition, int]) -> None:
        """Make the start of partitions never committed durable at once: a "latest" start
        chosen again after a crash would skip what arrived in between. A failure (the group
        moving again) leaves it to the first regular commit."""
        try:
            await consumer.commit({topic_partition(p): o for p, o in starts.items()})
        except (CommitFailedError, KafkaError) as exc:
            log.warning("%s: start offsets not committed yet (%s)", self.name, type(exc).__name__)

    def _drop(self, partitions: set[Partition]) -> None:
        if not partitions:
            return
        self._handler.forget(partitions)
        for part in partitions:
            self._memories.pop(part, None)
            self._next.pop(part, None)
            self._committed.pop(part, None)
            labels = (part.topic, str(part.partition))
            for gauge in (
                self._metrics.lag,
                self._metrics.dedup_ids,
                self._metrics.dedup_evicted_early,
            ):
                with contextlib.suppress(KeyError):
                    gauge.remove(*labels)

    async def _restore(self, fresh: set[Partition], starts: Mapping[Partition, int]) -> None:
        started = time.perf_counter()
        s = self._settings
        now_ms = int(self._clock() * 1000)
        horizon_s = max(s.dedup_window_s, self._handler.replay_horizon_s)
        replay_since_ms = now_ms - int(self._handler.replay_horizon_s * 1000)
        since = await self._reader.offsets_since(fresh, now_ms - int(horizon_s * 1000))
        for part in fresh:
            self._memories[part] = DedupMemory(s.dedup_window_s, s.dedup_capacity)
        count = 0
        ranges = {p: (min(since[p], starts[p]), starts[p]) for p in fresh}
        async for records in self._reader.read(ranges):
            memory = self._memories[records[0].partition]
            for record in records:
                self._replay_one(record, memory, replay_since_ms)
            count += len(records)
        await self._handler.restore(sorted(fresh), self._reader)
        elapsed = time.perf_counter() - started
        self._metrics.restore_duration.labels(self.name).observe(elapsed)
        self._metrics.restored_records.labels(self.name).inc(count)
        log.info(
            "%s: restored %d partition(s) from %d record(s) in %.2f s",
            self.name,
            len(fresh),
            count,
            elapsed,
        )

    def _replay_one(self, record: Record, memory: DedupMemory, replay_since_ms: int) -> None:
        """The live path without outputs: skip handled ids, remember, replay the recent ones."""
        try:
            event_id = record.event_id or decode_envelope(record).id
            if memory.add(event_id, record.timestamp_ms / 1000) and (
                record.timestamp_ms >= replay_since_ms
            ):
                self._handler.replay(record)
        except Exception:  # dead-lettered when it was handled live
            log.debug("%s: replay skipped %s/%d", self.name, record.partition, record.offset)
