"""The one consume loop every worker runs, and the reader that restores state.

Flow of one batch (``ConsumeLoop._run``)::

    getmany ─▶ per partition, in offset order ─▶ Record (headers only, no JSON yet)
               ├─ id already in the partition's DedupMemory ──▶ skipped (outcome "duplicate")
               ├─ handler.handle(record) ─▶ state, outputs buffered in the handler
               │    └─ Undecodable / any other error ─▶ dead letter with the reason
               └─ id remembered
    flush: dead letters, then handler.flush()   (retriable errors: back off and retry)
    commit: next offset per partition, held back to handler.pending_offset()

Delivery semantics: offsets are committed only after everything before them was handled and
flushed, so every record is handled at least once (aiokafka's manual commit after processing).
Records of one partition are handled in offset order by one member of the group; several
replicas share the partitions. Handlers get exactly-once *effects* by skipping ids the partition
has seen (``pipeline/dedup.py``) and by restoring their own state when a partition arrives.

Rebalance: ``revoked`` waits for the batch in hand (the lock), asks the handler to make everything
durable (``release``), flushes and commits. ``assigned`` restores each partition it did not keep:
it re-reads the partition from ``now - max(dedup window, handler.replay_horizon_s)`` up to the
committed offset, remembering the ``ce_id`` of every record and replaying the recent ones into the
handler (``handler.replay``: state only, no outputs), then calls ``handler.restore`` for state kept
elsewhere (a compacted topic). A partition that comes back to this member at the offset it left is
kept as it is.

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
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.admin import partitions_of
from pipeline.dedup import DEFAULT_CAPACITY, DEFAULT_WINDOW_S, DedupMemory
from pipeline.envelope import Envelope
from pipeline.errors import PipelineError
from pipeline.publish import Publisher
from pipeline.settings import MIB, SECONDS, KafkaSettings, client_options
from pipeline.topics import Headers, OutboundRecord, stream_of_topic

log = logging.getLogger(__name__)

READ_IDLE_LIMIT_S = 30 * SECONDS
BATCH_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RESTORE_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OUTCOMES = ("handled", "duplicate", "deadlettered")


class Undecodable(PipelineError):
    """A record the worker cannot read; it goes to the dead-letter topic with ``reason``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RestoreFailed(PipelineError):
    """State for newly assigned partitions could not be rebuilt; the worker must restart."""


class Partition(NamedTuple):
    topic: str
    partition: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}"


class Record(NamedTuple):
    """One Kafka record as the loop hands it over: the envelope headers read, the value not yet
    decoded (a handler decodes only what it needs). A NamedTuple, not a frozen dataclass: one is
    built per record on the hot path."""

    partition: Partition
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes]
    event_id: str  # ce_id: the envelope id, the same on every copy of the event
    munchkin_id: str
    stream: str
    event_type: str

    def envelope(self) -> Envelope:
        return decode_envelope(self)

    def document(self) -> dict[str, Any]:
        return decode_document(self)


_new_tuple = tuple.__new__


def to_record(partition: Partition, raw: Any) -> Record:
    """An aiokafka ``ConsumerRecord`` → ``Record``. This runs for every record: the tuple is
    built directly (a NamedTuple's own ``__new__`` is a Python function, twice as slow)."""
    h = dict(raw.headers)
    get = h.get
    key = raw.key
    # The tenant is the key's first segment and the stream is the topic; records written by an
    # ingress before 2026-11-29 also carry them as headers (``munchkin_id``, ``stream``).
    fields = (
        partition,
        raw.offset,
        raw.timestamp,
        key,
        raw.value,
        h,
        v.decode("utf-8", "replace") if (v := get("ce_id")) else "",
        v.decode("utf-8", "replace")
        if (v := get("munchkin_id") or (key and key.partition(b":")[0]))
        else "",
        v.decode("utf-8", "replace") if (v := get("stream")) else stream_of_topic(partition.topic),
        v.decode("utf-8", "replace") if (v := get("event_type")) else "",
    )
    return _new_tuple(Record, fields)


def decode_envelope(record: Record) -> Envelope:
    if not record.value:
        raise Undecodable("empty_record", "the record has no value")
    try:
        return Envelope.from_json(record.value)
    except orjson.JSONDecodeError as exc:
        raise Undecodable("malformed_json", str(exc)) from exc
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Undecodable("invalid_envelope", f"{type(exc).__name__}: {exc}") from exc


def decode_document(record: Record) -> dict[str, Any]:
    """The envelope as its JSON document (the names of ``Envelope.to_dict`` and of
    ``pipeline/schema/envelope.schema.json``).

    Workers read this rather than ``Envelope``: building the frozen dataclass costs about as much
    per record as everything else a worker does with it. Fields are checked where they are read
    (a missing or mistyped field raises KeyError/TypeError there, which the loop dead-letters as
    ``invalid_envelope``).
    """
    if not record.value:
        raise Undecodable("empty_record", "the record has no value")
    try:
        doc = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise Undecodable("malformed_json", str(exc)) from exc
    if type(doc) is not dict or type(doc.get("data")) is not dict:
        raise Undecodable("invalid_envelope", "an envelope is an object with a 'data' object")
    return doc


def event_time_s(time_text: str) -> float:
    """An envelope ``time`` as epoch seconds (the ingress writes UTC RFC 3339)."""
    try:
        return datetime.fromisoformat(time_text).timestamp()
    except (TypeError, ValueError) as exc:
        raise Undecodable("invalid_time", f"envelope time {str(time_text)[:40]!r}") from exc


class Handler(Protocol):
    """What a worker plugs into the loop. ``handle`` and ``replay`` are synchronous and fast;
    everything that waits on I/O happens in ``flush``, ``restore`` and ``release``."""

    @property
    def replay_horizon_s(self) -> float:
        """How far back ``replay`` needs records after an assignment (0: ids only)."""
        ...

    def handle(self, record: Record) -> None: ...

    def replay(self, record: Record) -> None: ...

    async def flush(self) -> None:
        """Make the outputs of the records handled so far durable (raise retriable errors)."""
        ...

    def pending_offset(self, partition: Partition) -> int | None:
        """The lowest offset whose effects are not durable yet (None: all are)."""
        ...

    async def restore(self, partitions: Sequence[Partition], reader: "PartitionReader") -> None: ...

    async def release(self, partitions: Sequence[Partition]) -> None:
        """Before the partitions go elsewhere: make all of their state durable."""
        ...

    def forget(self, partitions: Collection[Partition]) -> None: ...

    async def tick(self, now_s: float) -> None:
        """Periodic work not driven by records (e.g. silence detection); outputs flushed after."""
        ...


@dataclass(frozen=True)
class ConsumeSettings:
    group_id: str
    # Where a group without committed offsets starts: "earliest" or "latest".
    start_from: str = "earliest"
    max_batch_records: int = 5000
    poll_timeout_s: float = 0.2 * SECONDS
    fetch_max_wait_ms: int = 100
    max_partition_fetch_bytes: int = 4 * MIB
    commit_interval_s: float = 1 * SECONDS
    tick_interval_s: float = 5 * SECONDS
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 1_000
    max_poll_interval_ms: int = 300_000
    retry_initial_s: float = 0.2 * SECONDS
    retry_max_s: float = 30 * SECONDS
    drain_timeout_s: float = 15 * SECONDS
    dedup_window_s: float = DEFAULT_WINDOW_S
    dedup_capacity: int = DEFAULT_CAPACITY


@dataclass(frozen=True)
class ConsumeMetrics:
    events: Counter
    batch_duration: Histogram
    lag: Gauge
    commits: Counter
    retries: Counter
    restore_duration: Histogram
    restored_records: Counter
    assigned: Gauge
    dedup_ids: Gauge
    dedup_evicted_early: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "ConsumeMetrics":
        r = registry
        return cls(
            events=Counter(
                "datastreams_worker_events",
                "Records by worker and outcome",
                ["worker", "outcome"],
                registry=r,
            ),
            batch_duration=Histogram(
                "datastreams_worker_batch_duration_seconds",
                "Handling one fetched batch, flush included",
                ["worker"],
                buckets=BATCH_BUCKETS_S,
                registry=r,
            ),
            lag=Gauge(
                "datastreams_worker_consumer_lag",
                "Records between the handled position and the partition's end",
                ["topic", "partition"],
                registry=r,
            ),
            commits=Counter(
                "datastreams_worker_commits",
                "Offset commits by result",
                ["worker", "result"],
                registry=r,
            ),
            retries=Counter(
                "datastreams_worker_retries",
                "Retries after a retriable error, by stage",
                ["worker", "stage"],
                registry=r,
            ),
            restore_duration=Histogram(
                "datastreams_worker_restore_duration_seconds",
                "Rebuilding state for newly assigned partitions",
                ["worker"],
                buckets=RESTORE_BUCKETS_S,
                registry=r,
            ),
            restored_records=Counter(
                "datastreams_worker_restored_records",
                "Input records re-read while restoring",
                ["worker"],
                registry=r,
            ),
            assigned=Gauge(
                "datastreams_worker_assigned_partitions",
                "Partitions this member owns",
                ["worker"],
                registry=r,
            ),
            dedup_ids=Gauge(
                "datastreams_worker_dedup_ids",
                "Event ids remembered per partition",
                ["topic", "partition"],
                registry=r,
            ),
            dedup_evicted_early=Gauge(
                "datastreams_worker_dedup_evicted_early",
                "Ids forgotten before the window ended because the memory was full",
                ["topic", "partition"],
                registry=r,
            ),
        )


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


def _tp(partition: Partition) -> Any:
    return TopicPartition(partition.topic, partition.partition)


class PartitionReader:
    """Reads ranges of partitions outside the consumer group (to rebuild state)."""

    def __init__(self, kafka: KafkaSettings, client_id: str) -> None:
        self._kafka = kafka
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            **client_options(self._kafka),
            client_id=self._client_id,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * MIB,
        )
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    def _live(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RestoreFailed("the partition reader is not started")
        return self._consumer

    async def partitions(self, topic: str) -> list[Partition]:
        admin = AIOKafkaAdminClient(**client_options(self._kafka), client_id=self._client_id)
        await admin.start()
        try:
            return [Partition(topic, n) for n in await partitions_of(admin, topic)]
        finally:
            await admin.close()

    async def end_offsets(self, partitions: Collection[Partition]) -> dict[Partition, int]:
        ends = await self._live().end_offsets([_tp(p) for p in partitions])
        return {Partition(tp.topic, tp.partition): int(o) for tp, o in ends.items()}

    async def offsets_since(
        self, partitions: Collection[Partition], since_ms: int
    ) -> dict[Partition, int]:
        """The first offset with a timestamp at or after ``since_ms`` (the end if none)."""
        if not partitions:
            return {}
        consumer = self._live()
        found = await consumer.offsets_for_times({_tp(p): max(0, since_ms) for p in partitions})
        ends = await self.end_offsets(partitions)
        out = {}
        for tp, hit in found.items():
            part = Partition(tp.topic, tp.partition)
            out[part] = int(hit.offset) if hit is not None else ends[part]
        return out

    async def read(
        self, ranges: Mapping[Partition, tuple[int, int]], max_records: int = 5000
    ) -> AsyncIterator[list[Record]]:
        """Records in ``[start, end)`` of each partition, in offset order per partition."""
        consumer = self._live()
        todo = {p: end for p, (start, end) in ranges.items() if start < end}
        if not todo:
            return
        consumer.assign([_tp(p) for p in todo])
        for p, (start, _) in ranges.items():
            if p in todo:
                consumer.seek(_tp(p), start)
        idle_since = time.monotonic()
        try:
            while todo:
                batch = await consumer.getmany(
                    *[_tp(p) for p in todo], timeout_ms=500, max_records=max_records
                )
                for tp, raws in batch.items():
                    part = Partition(tp.topic, tp.partition)
                    end = todo.get(part)
                    if end is None:
                        continue
                    records = [to_record(part, r) for r in raws if r.offset < end]
                    if records:
                        idle_since = time.monotonic()
                        yield records
                for part in list(todo):
                    if await consumer.position(_tp(part)) >= todo[part]:
                        del todo[part]
                if todo and time.monotonic() - idle_since > READ_IDLE_LIMIT_S:
                    raise RestoreFailed(f"no progress reading {sorted(map(str, todo))}")
        finally:
            consumer.unsubscribe()


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: "ConsumeLoop") -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._loop._on_revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._loop._on_assigned({Partition(tp.topic, tp.partition) for tp in assigned})


class ConsumeLoop:
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
        self.name = name
        self._kafka = kafka
        self._settings = settings
        self._topics = list(topics)
        self._handler = handler
        self._publisher = publisher
        self._dead_letter_topic = dead_letter_topic
        self._metrics = metrics
        self._clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._reader = PartitionReader(kafka, f"{kafka.client_id}-restore")
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._generation = 0
        self._owned: set[Partition] = set()
        self._released: dict[Partition, int | None] = {}
        self._memories: dict[Partition, DedupMemory] = {}
        self._next: dict[Partition, int] = {}
        self._committed: dict[Partition, int] = {}
        self._dead_letters: list[OutboundRecord] = []
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()
        self._deadline: float | None = None
        self._last_commit = self._last_tick = time.monotonic()
        self.failure: BaseException | None = None
        events = metrics.events
        self._counted = {o: events.labels(name, o) for o in OUTCOMES}

    # ---- lifecycle -------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._stopping.is_set()

    @property
    def owned(self) -> frozenset[Partition]:
        return frozenset(self._owned)

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
        consumer.subscribe(self._topics, listener=_Listener(self))
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
        for tp, raws in batch.items():
            part = Partition(tp.topic, tp.partition)
            memory = self._memories.get(part)
            if memory is None or part not in self._owned:
                continue
            for raw in raws:
                if self._handle_one(to_record(part, raw), memory):
                    handled += 1
                else:
                    duplicates += 1
            self._next[part] = raws[-1].offset + 1
        dead = len(self._dead_letters) - dead_before
        await self._flush()
        self._count(handled - dead, duplicates, dead)
        self._metrics.batch_duration.labels(self.name).observe(time.perf_counter() - started)
        self._update_gauges()

    def _handle_one(self, record: Record, memory: DedupMemory) -> bool:
        """Hand one record to the handler unless its id was handled; False for a duplicate."""
        event_id = record.event_id
        try:
            if not event_id:
                event_id = decode_envelope(record).id
            if not memory.add(event_id, record.timestamp_ms / 1000):
                return False  # handled before: a re-send, a producer retry or a redelivery
            self._handler.handle(record)
        except Undecodable as exc:
            self._dead_letter(record, exc.reason, exc.detail)
        except (KeyError, TypeError) as exc:  # a field missing or of the wrong type
            self._dead_letter(record, "invalid_envelope", f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            log.exception("%s: handler failed on %s/%d", self.name, record.partition, record.offset)
            self._dead_letter(record, "handler_error", f"{type(exc).__name__}: {exc}")
        return True

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
            await consumer.commit({_tp(p): o for p, o in offsets.items()})
        except (CommitFailedError, KafkaError) as exc:
            self._metrics.commits.labels(self.name, "failed").inc()
            log.warning("%s: commit failed (%s); retried later", self.name, type(exc).__name__)
            return
        self._committed.update(offsets)
        self._metrics.commits.labels(self.name, "ok").inc()

    def _update_gauges(self) -> None:
        consumer = self._consumer
        if consumer is None:
            return
        for part in self._owned:
            labels = (part.topic, str(part.partition))
            highwater = consumer.highwater(_tp(part))
            if highwater is not None and part in self._next:
                self._metrics.lag.labels(*labels).set(max(0, highwater - self._next[part]))
            memory = self._memories.get(part)
            if memory is not None:
                self._metrics.dedup_ids.labels(*labels).set(len(memory))
                self._metrics.dedup_evicted_early.labels(*labels).set(memory.evicted_early)

    # ---- rebalance -------------------------------------------------------------------------

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
            committed = await consumer.committed(_tp(part))
            if committed is not None:
                starts[part] = committed
        unset = assigned - set(starts)
        if unset:
            if self._settings.start_from == "latest":
                starts.update(await self._reader.end_offsets(unset))
            else:
                starts.update(await self._reader.offsets_since(unset, 0))
        for part in assigned:
            consumer.seek(_tp(part), starts[part])
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
