"""Publishing to Kafka: a producer that connects in the background and acknowledges durably.

Delivery semantics: ``publish`` returns only when Kafka acknowledged every record with
``acks=all`` from an idempotent producer; otherwise it raises a retriable ``PublishError`` within
``publish_timeout_s``. Records go through aiokafka's batch path by way of one lane per
topic-partition (``pipeline/lanes.py``) that concurrent calls share, rather than one awaited send
per record. A record whose acknowledgement timed out may still land later: the upstream retries
and consumers deduplicate on the envelope id.

Lifecycle: ``start`` (returns at once; connecting and creating topics run in the background,
retried until they succeed) → ``ready`` (producer up, topics writable per the last health probe)
→ ``stop`` (flush within a deadline, close).
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable, Sequence
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from pipeline.admin import create_missing, topics_writable, wait_writable
from pipeline.errors import KafkaUnavailable, PublishError, PublishTimeout
from pipeline.lanes import PartitionLane, RecordTooLarge
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import OutboundRecord, Topics

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 10.0
TOPIC_READY_TIMEOUT_S = 30.0

_partitioner = DefaultPartitioner()


@functools.lru_cache(maxsize=65536)  # murmur2 is pure Python; a lead's key repeats
def _partition_cached(key: bytes, partitions: tuple[int, ...]) -> int:
    return int(_partitioner(key, list(partitions), list(partitions)))


def partition_for(key: bytes, partitions: Sequence[int]) -> int:
    """The partition the Java client's default partitioner picks for this key."""
    return _partition_cached(key, tuple(partitions))


async def acknowledged(futures: Iterable[asyncio.Future[None]], deadline: float) -> None:
    """Return once every future is done; ``TimeoutError`` at ``deadline`` (the loop's clock).

    Never cancels one of them: they are shared with other deliveries. What ``asyncio.wait``
    under ``asyncio.timeout`` does, without their per-call set copy, coroutine checks, second
    waiting pass and task cancellation: a delivery's wait is a future and one timer."""
    pending = [future for future in futures if not future.done()]
    if not pending:
        return
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    left = len(pending)

    def one_done(_: asyncio.Future[None]) -> None:
        nonlocal left
        left -= 1
        if left == 0 and not waiter.done():
            waiter.set_result(None)

    for future in pending:
        future.add_done_callback(one_done)
    timer = loop.call_at(deadline, _expire, waiter)
    try:
        await waiter
    finally:
        timer.cancel()
        for future in pending:
            future.remove_done_callback(one_done)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class Publisher:
    def __init__(self, kafka: KafkaSettings, topics: Topics, *, create_topics: bool = True) -> None:
        self._kafka = kafka
        self._topics = topics
        self._create_topics = create_topics
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._healthy = False
        self._ready_event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lanes: dict[tuple[str, int], PartitionLane] = {}

    @property
    def ready(self) -> bool:
        return self._producer is not None and self._healthy

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kafka-publisher")

    async def wait_ready(self, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self._ready_event.wait()

    async def publish(self, records: Sequence[OutboundRecord]) -> None:
        producer = self._producer
        if producer is None:
            raise KafkaUnavailable("not connected to Kafka yet")
        if not records:
            return
        deadline = asyncio.get_running_loop().time() + self._kafka.publish_timeout_s
        try:
            futures = await self._enqueue(producer, records, deadline)
            await acknowledged(futures, deadline)
        except TimeoutError as exc:
            raise PublishTimeout(
                f"Kafka did not acknowledge {len(records)} record(s) "
                f"within {self._kafka.publish_timeout_s:g} s"
            ) from exc
        except RecordTooLarge as exc:
            raise PublishError(str(exc)) from exc
        for future in futures:
            if (error := future.exception()) is not None:
                raise PublishError(f"Kafka refused the records: {type(error).__name__}") from error

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._healthy = False
        producer, self._producer = self._producer, None
        lanes, self._lanes = list(self._lanes.values()), {}
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.gather(*(lane.flush() for lane in lanes))
                if producer is not None:
                    await producer.stop()
        except TimeoutError:
            log.error("Kafka producer did not flush within %.0f s", STOP_TIMEOUT_S)
        for lane in lanes:
            await lane.close()
        await self._close_admin()

    async def __aenter__(self) -> "Publisher":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _enqueue(
        self, producer: AIOKafkaProducer, records: Sequence[OutboundRecord], deadline: float
    ) -> set[asyncio.Future[None]]:
        partitions = {
            t: await self._partitions(producer, t, deadline) for t in {r.topic for r in records}
        }
        # no await from here on: the records of one call enter their lanes together, each lane's
        # in their order
        by_lane: dict[tuple[str, int], list[OutboundRecord]] = {}
        for record in records:
            topic, partition = record.topic, record.partition
            known = partitions[topic]
            if partition is None:
                partition = _partition_cached(record.key, known)
            elif partition not in known:
                raise ValueError(f"{topic} has no partition {partition} (it has {list(known)})")
            group = by_lane.get((topic, partition))
            if group is None:
                by_lane[(topic, partition)] = [record]
            else:
                group.append(record)
        futures: set[asyncio.Future[None]] = set()
        for (topic, partition), group in by_lane.items():
            futures |= self._lane(producer, topic, partition).extend(group)
        return futures

    async def _partitions(
        self, producer: AIOKafkaProducer, topic: str, deadline: float
    ) -> tuple[int, ...]:
        """The topic's partitions, sorted; from the metadata the producer holds when it holds
        the topic's (no coroutine per delivery), else as ``partitions_for`` waits for it."""
        known = producer.client.cluster.partitions_for_topic(topic)
        if known is None:
            async with asyncio.timeout_at(deadline):
                known = await producer.partitions_for(topic)
        return tuple(sorted(known))

    def _lane(self, producer: AIOKafkaProducer, topic: str, partition: int) -> PartitionLane:
        lane = self._lanes.get((topic, partition))
        if lane is None:
            lane = self._lanes[(topic, partition)] = PartitionLane(producer, topic, partition)
        return lane

    async def _run(self) -> None:
        while self._producer is None:
            try:
                await self._connect()
            except (KafkaError, OSError, TimeoutError) as exc:
                log.warning(
                    "Kafka at %s not available (%s); retrying in %.1f s",
                    self._kafka.bootstrap_servers,
                    type(exc).__name__,
                    self._kafka.connect_retry_s,
                )
                await self._close_admin()
                await asyncio.sleep(self._kafka.connect_retry_s)
        while True:
            await asyncio.sleep(self._kafka.health_interval_s)
            await self._probe()

    async def _connect(self) -> None:
        names = {t.name for t in self._topics.all()}
        self._admin = AIOKafkaAdminClient(
            **client_options(self._kafka),
            client_id=f"{self._kafka.client_id}-admin",
            request_timeout_ms=int(self._kafka.publish_timeout_s * 1000),
        )
        await self._admin.start()
        if self._create_topics:
            await create_missing(self._admin, self._topics.all())
        await wait_writable(self._admin, names, TOPIC_READY_TIMEOUT_S)
        producer = self._new_producer()
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer
        self._healthy = True
        self._ready_event.set()
        log.info(
            "connected to Kafka at %s; topics %s", self._kafka.bootstrap_servers, sorted(names)
        )

    def _new_producer(self) -> AIOKafkaProducer:
        compression = (
            None if self._kafka.compression_type == "none" else self._kafka.compression_type
        )
        return AIOKafkaProducer(
            **client_options(self._kafka),
            client_id=self._kafka.client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=self._kafka.linger_ms,
            max_batch_size=self._kafka.max_batch_bytes,
            max_request_size=self._kafka.max_record_bytes,
            compression_type=compression,
        )

    async def _probe(self) -> None:
        assert self._admin is not None
        names = {t.name for t in self._topics.all()}
        try:
            async with asyncio.timeout(self._kafka.publish_timeout_s):
                healthy = await topics_writable(self._admin, names)
        except (KafkaError, OSError, TimeoutError) as exc:
            healthy = False
            log.debug("Kafka health probe failed: %s", type(exc).__name__)
        if healthy != self._healthy:
            log.warning("Kafka became %s", "ready" if healthy else "unavailable")
        self._healthy = healthy

    async def _close_admin(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
