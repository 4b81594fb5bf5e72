"""Re-reading partitions outside the consumer group, to rebuild state when partitions arrive: the
input (ids to skip, records to replay) and a handler's own changelog or outputs."""

import time
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from pipeline.consume.errors import RestoreFailed
from pipeline.consume.record import Partition, Record, to_record
from pipeline.settings import MIB, SECONDS, KafkaSettings, client_options

READ_IDLE_LIMIT_S = 30 * SECONDS


def topic_partition(partition: Partition) -> Any:
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
        ends = await self._live().end_offsets([topic_partition(p) for p in partitions])
        return {Partition(tp.topic, tp.partition): int(o) for tp, o in ends.items()}

    async def offsets_since(
        self, partitions: Collection[Partition], since_ms: int
    ) -> dict[Partition, int]:
        """The first offset with a timestamp at or after ``since_ms`` (the end if none)."""
        if not partitions:
            return {}
        consumer = self._live()
        found = await consumer.offsets_for_times(
            {topic_partition(p): max(0, since_ms) for p in partitions}
        )
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
        consumer.assign([topic_partition(p) for p in todo])
        for p, (start, _) in ranges.items():
            if p in todo:
                consumer.seek(topic_partition(p), start)
        idle_since = time.monotonic()
        try:
            while todo:
                batch = await consumer.getmany(
                    *[topic_partition(p) for p in todo], timeout_ms=500, max_records=max_records
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
                    if await consumer.position(topic_partition(part)) >= todo[part]:
                        del todo[part]
                if todo and time.monotonic() - idle_since > READ_IDLE_LIMIT_S:
                    raise RestoreFailed(f"no progress reading {sorted(map(str, todo))}")
        finally:
            consumer.unsubscribe()
