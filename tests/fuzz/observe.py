"""What the fuzzer observes besides the answer: the records each request added to any topic, and
the ingress process' memory."""

import asyncio
from pathlib import Path
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from pipeline.admin import partitions_of
from pipeline.topics import Topics

MAX_RECORD_BYTES = 10 * 1024 * 1024

Record: TypeAlias = ConsumerRecord[Any, Any]


def rss_of(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) * 1024
    return values


class RecordWatcher:
    """Reads every record the ingress adds to its topics, request by request: offsets are dense
    (no transactions), so what lies between two end offsets is exactly what was written between
    two readings."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.partitions: list[TopicPartition] = []
        self.next: dict[TopicPartition, int] = {}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=5,
            max_partition_fetch_bytes=MAX_RECORD_BYTES,
            fetch_max_bytes=4 * MAX_RECORD_BYTES,
        )
        # End offsets come from a second client: a broker answers one connection's requests in
        # order, so behind the first client's long-polling fetch every query would wait for it.
        self.offsets = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            for topic in self.topics.all():
                ids = await partitions_of(admin, topic.name)
                self.partitions += [TopicPartition(topic.name, n) for n in ids]
        finally:
            await admin.close()
        await self.offsets.start()
        await self.consumer.start()
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)
        self.next = dict.fromkeys(self.partitions, 0)

    async def new_records(self, timeout_s: float = 30.0) -> list[Record]:
        end = await self.offsets.end_offsets(self.partitions)
        out: list[Record] = []
        async with asyncio.timeout(timeout_s):
            while any(self.next[tp] < end[tp] for tp in self.partitions):
                batch = await self.consumer.getmany(timeout_ms=100)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= self.next[tp]:
                            out.append(record)
                            self.next[tp] = record.offset + 1
        return out

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.offsets.stop()


async def topic_names(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.startswith(prefix + "."))
    finally:
        await admin.close()


async def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = [TopicPartition(t, n) for t in topics for n in await partitions_of(admin, t)]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        offsets: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return offsets
    finally:
        await consumer.stop()
