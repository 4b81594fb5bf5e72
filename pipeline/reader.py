"""Read a whole topic: every record from its start up to its end offsets at the time of the
call. The redrive reads its ledger and the dead-letter topic so; the tools and the tests check
what landed so.
"""

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from pipeline.admin import partitions_of
from pipeline.errors import UnknownTopic
from pipeline.settings import KafkaSettings, client_options

POLL_MS = 500


async def _partitions(kafka: KafkaSettings, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        return [TopicPartition(topic, n) for n in await partitions_of(admin, topic)]
    finally:
        await admin.close()


async def read_all(
    kafka: KafkaSettings, topic: str, *, timeout_s: float | None = None, must_exist: bool = False
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``topic`` up to its end offsets at the time of the call, in offset order
    per partition.

    A topic that does not exist reads as empty, or raises :class:`UnknownTopic` with
    ``must_exist``. ``timeout_s`` bounds the whole read (TimeoutError); None waits as long as
    the broker takes.
    """
    partitions = await _partitions(kafka, topic)
    if not partitions:
        if must_exist:
            raise UnknownTopic(f"topic {topic} does not exist on {kafka.bootstrap_servers}")
        return []
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            return await _read_to(consumer, partitions)
    finally:
        await consumer.stop()


async def count_records(kafka: KafkaSettings, topics: list[str]) -> int:
    """How many records the topics hold, from their offsets alone (end minus beginning, summed
    over every partition): exact for topics written without transactions and not compacted, as
    the envelope and dead-letter topics are; one client for all, no record read."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        partitions = [
            TopicPartition(topic, n) for topic in topics for n in await partitions_of(admin, topic)
        ]
    finally:
        await admin.close()
    if not partitions:
        return 0
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        end = await consumer.end_offsets(partitions)
        begin = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    return sum(end[tp] - begin[tp] for tp in partitions)


async def _read_to(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition]
) -> list[ConsumerRecord[Any, Any]]:
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    end = await consumer.end_offsets(partitions)
    records: list[ConsumerRecord[Any, Any]] = []
    # Positions, not record offsets: transaction markers and compacted gaps hold offsets that
    # no record carries, and the position moves past them.
    while pending := [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
        batch = await consumer.getmany(*pending, timeout_ms=POLL_MS)
        for tp, got in batch.items():
            records.extend(r for r in got if r.offset < end[tp])
    return records
