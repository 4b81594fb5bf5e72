"""Reading topics from a point in time up to their current end, headers and keys only: what is
already on the topics (``present.py``), and where the gaps are (``gaps.py``)."""

from collections.abc import Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from pipeline.admin import partitions_of
from pipeline.settings import KafkaSettings, client_options
from pipeline.topics import Topics

Visit = Callable[[ConsumerRecord[Any, Any]], None]


async def scan(kafka: KafkaSettings, topics: Sequence[str], since_ms: int, visit: Visit) -> int:
    """Calls ``visit`` for every record published at or after ``since_ms`` (Kafka timestamps)
    until each partition's end at the time of the call; returns how many it visited."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        parts = [TopicPartition(t, n) for t in topics for n in await partitions_of(admin, t)]
    finally:
        await admin.close()
    if not parts:
        return 0
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(parts)
        end = await consumer.end_offsets(parts)
        starts = await consumer.offsets_for_times({tp: max(0, since_ms) for tp in parts})
        remaining = set()
        for tp in parts:
            found = starts.get(tp)
            offset = found.offset if found is not None else end[tp]
            if offset < end[tp]:
                consumer.seek(tp, offset)
                remaining.add(tp)
        visited = 0
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset < end[tp]:
                        visit(record)
                        visited += 1
                if records and records[-1].offset >= end[tp] - 1:
                    remaining.discard(tp)
        return visited
    finally:
        await consumer.stop()


def header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for key, value in record.headers:
        if key == name:
            return bytes(value).decode("utf-8", "replace")
    return None


async def present_ids(kafka: KafkaSettings, topics: Topics, since_ms: int) -> set[str]:
    """The ``ce_id`` of every envelope and dead letter published since ``since_ms``."""
    ids: set[str] = set()

    def visit(record: ConsumerRecord[Any, Any]) -> None:
        event_id = header(record, "ce_id")
        if event_id:
            ids.add(event_id)

    await scan(kafka, [t.name for t in topics.all()], since_ms, visit)
    return ids
