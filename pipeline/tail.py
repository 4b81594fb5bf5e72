"""Print what is on a topic, so operators can check that deliveries landed (`datastreams tail`)."""

import asyncio
import sys
from typing import TextIO

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from pipeline.settings import KafkaSettings, client_options


def render(key: bytes | None, headers: list[tuple[str, bytes]], value: bytes | None) -> str:
    doc = {
        "key": key.decode("utf-8", "replace") if key else None,
        "headers": {k: v.decode("utf-8", "replace") for k, v in headers},
    }
    try:
        doc["value"] = orjson.loads(value or b"null")
    except orjson.JSONDecodeError:
        doc["value_raw"] = (value or b"").decode("utf-8", "replace")
    return orjson.dumps(doc).decode()


async def tail(
    kafka: KafkaSettings, topic: str, *, max_records: int, idle_s: float, out: TextIO = sys.stdout
) -> int:
    """Print up to ``max_records`` from the beginning; stop after ``idle_s`` without records."""
    admin = AIOKafkaAdminClient(**client_options(kafka))
    await admin.start()
    try:
        partitions = await partitions_of(admin, topic)
    finally:
        await admin.close()
    if not partitions:
        print(f"topic {topic!r} does not exist on {kafka.bootstrap_servers}", file=sys.stderr)
        return 1
    consumer = AIOKafkaConsumer(**client_options(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, n) for n in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        seen = 0
        while seen < max_records:
            batch = await consumer.getmany(timeout_ms=int(idle_s * 1000), max_records=max_records)
            if not batch:
                break
            for records in batch.values():
                for r in records[: max_records - seen]:
                    print(render(r.key, list(r.headers), r.value), file=out)
                    seen += 1
        return 0
    finally:
        await consumer.stop()


def run_tail(kafka: KafkaSettings, topic: str, max_records: int, idle_s: float) -> int:
    return asyncio.run(tail(kafka, topic, max_records=max_records, idle_s=idle_s))
