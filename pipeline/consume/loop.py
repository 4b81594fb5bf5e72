"""The one consume loop every worker runs: fetch, handle, flush, commit; start and drain.

Flow of one batch (``ConsumeLoop._run``)::

    getmany ─▶ per partition, in offset order ─▶ Record (headers only, no JSON yet)
               ├─ id already in the partition's DedupMemory ──▶ skipped (outcome "duplicate")
               ├─ handler.handle(record) ─▶ state, outputs buffered in the handler
               │    └─ UnusableInput / any other error ─▶ dead letter with the reason
               └─ id remembered
    flush: dead letters, then handler.flush()   (retriable errors: back off and retry)
    commit: next offset per partition, held back to handler.pending_offset()

A handler with ``handle_run`` (``RunHandler``: the scoring worker's) takes each partition's run
of raw records instead, to the same effect, building a ``Record`` only where it needs one.

Rebalances, and the per-partition state they hand over, are ``Membership``'s
(``pipeline/consume/rebalance.py``).

Shutdown (``stop``): stop fetching, finish the batch in hand, release, flush, commit, leave the
group; everything within ``drain_timeout_s``. What is not durable by then is handled again by the
next owner.
"""

import asyncio
import contextlib
import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer

from pipeline.consume.handler import Handler, RawPath
from pipeline.consume.metrics import OUTCOMES, ConsumeMetrics
from pipeline.consume.reader import PartitionReader, topic_partition
from pipeline.consume.rebalance import Membership
from pipeline.consume.record import Partition, Record, decode_envelope, to_record
from pipeline.consume.settings import ConsumeSettings
from pipeline.dedup import DedupMemory
from pipeline.errors import UnusableInput
from pipeline.publish import Publisher
from pipeline.runtime import collect_between_batches
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import Headers, OutboundRecord, stream_of_topic

log = logging.getLogger(__name__)


def dead_letter_record(
    record: Record, reason: str, detail: str, worker: str, topic: str
) -> OutboundRecord:
    """An undecodable record for the dead-letter topic: the raw bytes and why, as the ingress
    routes its own dead letters (``pipeline.topics.route_dead_letter``)."""
    value = record.value or b""
    munchkin = record.munchkin_id or "unknown"
    event_id = record.event_id or "sha256:" + hashlib.sha256(value).hexdigest()
    headers: Headers = (
        ("ce_id", event_id.encode()),
        ("dl_reason", reason.encode()),
        ("dl_detail", detail.encode()[:1024]),
        ("munchkin_id", munchkin.encode()),
        ("stream", (record.stream or "unknown").encode()),
        ("dl_source", f"{record.partition}/{record.offset}".encode()),
        ("dl_worker", worker.encode()),
    )
    return OutboundRecord(topic, munchkin.encode(), value, headers, int(time.time() * 1000))


class ConsumeLoop(Membership):
    """``start`` → ``wait_ready`` (first assignment restored) → ``stop`` (drain, commit, leave)."""

    def __init__(
        self,
        *,
        name: str,
        kafka: KafkaSettings,
        settings: ConsumeSettings,
        topics: Sequence[str],
        handler: Handler,
        publisher: Publisher,
        dead_letter_topic: str,
        metrics: ConsumeMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            name=name,
            settings=settings,
            handler=handler,
            reader=PartitionReader(kafka, f"{kafka.client_id}-restore"),
            metrics=metrics,
            clock=clock,
        )
        self._kafka = kafka
        self._topics = list(topics)
        self._publisher = publisher
        self._dead_letter_topic = dead_letter_topic
        self._task: asyncio.Task[None] | None = None
        self._dead_letters: list[OutboundRecord] = []
        self._stopping = asyncio.Event()
        self._deadline: float | None = None
        self._last_tick = time.monotonic()
        self.failure: BaseException | None = None
        events = metrics.events
        self._counted = {o: events.labels(name, o) for o in OUTCOMES}

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._stopping.is_set()

    async def start(self) -> None:
        if self._task is not None:
            return
        s = self._settings
        await self._reader.start()
        consumer = AIOKafkaConsumer(
            **client_options(self._kafka),
            client_id=f"{self._kafka.client_id}-consumer",
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset=s.start_from,
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_partition_fetch_bytes=s.max_partition_fetch_bytes,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=s.max_poll_interval_ms,
        )
        consumer.subscribe(self._topics, listener=self.listener())
        self._consumer = consumer  # the listener may run before start() returns
        try:
            await consumer.start()
        except BaseException:
            self._consumer = None
            await consumer.stop()
            await self._reader.stop()
            raise
        self._task = asyncio.create_task(self._run(), name=f"{self.name}-consume")

    async def wait_ready(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._ready.wait()

    async def wait_stopped(self) -> None:
        """Returns when the loop ended (``stop`` or a fatal error, see ``failure``)."""
        await self._stopping.wait()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.shield(self._task)

    async def stop(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        drain_s = self._settings.drain_timeout_s
        self._deadline = time.monotonic() + drain_s
        self._stopping.set()
        if self._task is not None:
            try:
                async with asyncio.timeout(drain_s):
                    await asyncio.shield(self._task)
            except TimeoutError:
                log.error("%s: the batch in hand did not finish within %.0f s", self.name, drain_s)
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        await self._release_all(max(0.1, self._deadline - time.monotonic()))
        self._consumer = None
        try:
            async with asyncio.timeout(drain_s):
                await consumer.stop()  # leaves the group: the partitions move at once
        except TimeoutError:
            log.error("%s: the Kafka consumer did not stop within %.0f s", self.name, drain_s)
        await self._reader.stop()

    async def _release_all(self, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s), self._lock:
                if self._owned and self.failure is None:
                    await self._release(set(self._owned))
        except Exception as exc:
            log.error(
                "%s: could not make the last records durable (%s: %s); the next owner handles "
                "them again",
                self.name,
                type(exc).__name__,
                exc,
            )

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            log.critical(
                "%s: stopping after a fatal error: %s: %s", self.name, type(exc).__name__, exc
            )
        self._stopping.set()

    # ---- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        timeout_ms = int(self._settings.poll_timeout_s * 1000)
        try:
            while not self._stopping.is_set():
                generation = self._generation
                batch = await consumer.getmany(
                    timeout_ms=timeout_ms, max_records=self._settings.max_batch_records
                )
                async with self._lock:
                    if batch and generation == self._generation:
                        await self._handle_batch(batch)
                    elif batch:
                        self._rewind(consumer, batch)
                    await self._maybe_tick()
                    await self._maybe_commit()
                # Freed before the next fetch, and the young garbage collected now, when it is
                # cheap: see collect_between_batches.
                del batch
                collect_between_batches()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(exc)

    def _rewind(self, consumer: AIOKafkaConsumer, batch: Mapping[Any, list[Any]]) -> None:
        """Drop a batch fetched across a rebalance: the consumer's position moved past it, so
        the partitions this member owns are sought back to the next offset to handle."""
        log.debug("%s: dropped a batch fetched across a rebalance", self.name)
        for tp in batch:
            part = Partition(tp.topic, tp.partition)
            if part in self._owned and part in self._next:
                consumer.seek(tp, self._next[part])

    async def _handle_batch(self, batch: Mapping[Any, list[Any]]) -> None:
        started = time.perf_counter()
        handled = duplicates = 0
        dead_before = len(self._dead_letters)
        handle = self._handler.handle
        handle_run = getattr(self._handler, "handle_run", None)
        for tp, raws in batch.items():
            part = Partition(tp.topic, tp.partition)
            memory = self._memories.get(part)
            if memory is None or part not in self._owned:
                continue
            if handle_run is not None:
                dup = handle_run(part, raws, memory.add, self._raw_path(part, memory))
                duplicates += dup
                handled += len(raws) - dup
                self._next[part] = raws[-1].offset + 1
                continue
            # What _handle_one does, inlined for records with an id (all but very old ones):
            # this runs for every record, and a call and the lookups per record cost.
            stream, remember = stream_of_topic(part.topic), memory.add
            for raw in raws:
                record = to_record(part, raw, stream)
                event_id = record.event_id
                if not event_id:
                    if self._handle_one(record, memory):
                        handled += 1
                    else:
                        duplicates += 1
                elif not remember(event_id, record.timestamp_ms / 1000):
                    duplicates += 1  # handled before: a re-send, a producer retry, a redelivery
                else:
                    handled += 1
                    try:
                        handle(record)
                    except Exception as exc:
                        self._handler_failed(record, exc)
            self._next[part] = raws[-1].offset + 1
        dead = len(self._dead_letters) - dead_before
        await self._flush()
        self._count(handled - dead, duplicates, dead)
        self._metrics.batch_duration.labels(self.name).observe(time.perf_counter() - started)
        self._update_gauges()

    def _raw_path(self, part: Partition, memory: DedupMemory) -> RawPath:
        """For a ``RunHandler``: the loop's own way with one raw record of ``part``, and the
        dead letter of one its handler failed on (the ``Record`` is built only then)."""
        stream = stream_of_topic(part.topic)

        def one(raw: Any) -> bool:
            return self._handle_one(to_record(part, raw, stream), memory)

        def failed(raw: Any, exc: Exception) -> None:
            self._handler_failed(to_record(part, raw, stream), exc)

        return RawPath(stream, one, failed)

    def _handle_one(self, record: Record, memory: DedupMemory) -> bool:
        """Hand one record to the handler unless its id was handled; False for a duplicate."""
        try:
            event_id = record.event_id or decode_envelope(record).id
            if not memory.add(event_id, record.timestamp_ms / 1000):
                return False  # handled before: a re-send, a producer retry or a redelivery
            self._handler.handle(record)
        except Exception as exc:
            self._handler_failed(record, exc)
        return True

    def _handler_failed(self, record: Record, exc: Exception) -> None:
        if isinstance(exc, UnusableInput):
            self._dead_letter(record, exc.reason, exc.detail)
        elif isinstance(exc, KeyError | TypeError):  # a field missing or of the wrong type
            self._dead_letter(record, "invalid_envelope", f"{type(exc).__name__}: {exc}")
        else:
            log.exception("%s: handler failed on %s/%d", self.name, record.partition, record.offset)
            self._dead_letter(record, "handler_error", f"{type(exc).__name__}: {exc}")

    def _dead_letter(self, record: Record, reason: str, detail: str) -> None:
        log.warning(
            "%s: dead-lettering %s/%d: %s (%s)",
            self.name,
            record.partition,
            record.offset,
            reason,
            detail,
        )
        self._dead_letters.append(
            dead_letter_record(record, reason, detail, self.name, self._dead_letter_topic)
        )

    def _count(self, handled: int, duplicates: int, dead: int) -> None:
        for outcome, n in (("handled", handled), ("duplicate", duplicates), ("deadlettered", dead)):
            if n:
                self._counted[outcome].inc(n)

    async def _flush(self) -> None:
        await self._retrying("flush", self._flush_once)

    async def _flush_once(self) -> None:
        if self._dead_letters:
            await self._publisher.publish(list(self._dead_letters))
            self._dead_letters.clear()
        await self._handler.flush()

    async def _retrying(self, stage: str, action: Callable[[], Any]) -> None:
        delay = self._settings.retry_initial_s
        while True:
            try:
                await action()
                return
            except Exception as exc:
                if not getattr(exc, "retriable", False):
                    raise
                if self._deadline is not None and time.monotonic() + delay > self._deadline:
                    raise
                self._metrics.retries.labels(self.name, stage).inc()
                log.warning(
                    "%s: %s failed (%s: %s); retrying in %.1f s",
                    self.name,
                    stage,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))  # noqa: S311 - jitter
                delay = min(delay * 2, self._settings.retry_max_s)

    async def _maybe_tick(self) -> None:
        now = time.monotonic()
        if now - self._last_tick < self._settings.tick_interval_s or not self._owned:
            return
        self._last_tick = now
        await self._handler.tick(self._clock())
        await self._flush()

    async def _maybe_commit(self) -> None:
        if time.monotonic() - self._last_commit >= self._settings.commit_interval_s:
            await self._commit(self._owned)

    def _update_gauges(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for part in self._owned:
            labels = (part.topic, str(part.partition))
            highwater = consumer.highwater(topic_partition(part))
            if highwater is not None and part in self._next:
                self._metrics.lag.labels(*labels).set(max(0, highwater - self._next[part]))
            memory = self._memories.get(part)
            if memory is not None:
                self._metrics.dedup_ids.labels(*labels).set(len(memory))
                self._metrics.dedup_evicted_early.labels(*labels).set(memory.evicted_early)
