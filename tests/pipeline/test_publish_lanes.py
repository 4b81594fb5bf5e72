"""Concurrent publishes share one batching lane per partition (pipeline/lanes.py), against the
real broker: every call is acknowledged, every record lands once, a call's records keep their
order within a partition. (Before the lanes, each call queued batches of its own behind the
others' and aiokafka's slot wait timed them out: this test failed with KafkaTimeoutError.)"""

import asyncio
import uuid
from collections import defaultdict

import pytest

from pipeline.publish import Publisher, partition_for
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import OutboundRecord, build_topics
from tests.support.kafka import read_topic

WORKERS = 32
CALLS_PER_WORKER = 4
CALLS = WORKERS * CALLS_PER_WORKER
RECORDS_PER_CALL = 500
PARTITIONS = 3


def call_records(topic: str, call: int) -> list[OutboundRecord]:
    return [
        OutboundRecord(
            topic=topic,
            key=f"lead-{n % 7}".encode(),  # few keys: each call's records share partitions
            value=f"{call}:{n}".encode() + b"x" * 200,
            headers=(("call", str(call).encode()),),
            timestamp_ms=1_700_000_000_000,
        )
        for n in range(RECORDS_PER_CALL)
    ]


async def test_concurrent_calls_share_batches_and_every_record_lands_once(
    kafka_bootstrap: str,
) -> None:
    topics = build_topics(
        TopicSettings(prefix=f"lanes-{uuid.uuid4().hex[:8]}", partitions=PARTITIONS), 1 << 20
    )
    topic = topics.lead_activity.name
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    async with Publisher(kafka, topics) as publisher:
        await publisher.wait_ready(60)

        async def worker(first: int) -> None:  # as one keep-alive connection of the upstream
            for call in range(first, first + CALLS_PER_WORKER):
                await publisher.publish(call_records(topic, call))

        await asyncio.gather(*(worker(w * CALLS_PER_WORKER) for w in range(WORKERS)))

    records = await read_topic(kafka_bootstrap, topic)
    values = [r.value.split(b"x", 1)[0].decode() for r in records]
    assert len(values) == CALLS * RECORDS_PER_CALL
    assert len(set(values)) == len(values), "a record landed twice"

    order: dict[tuple[int, int], list[int]] = defaultdict(list)
    for r, value in zip(records, values, strict=True):
        call, n = map(int, value.split(":"))
        assert r.partition == partition_for(r.key, list(range(PARTITIONS)))
        order[(call, r.partition)].append(n)
    for ns in order.values():
        assert ns == sorted(ns), "a call's records lost their order within a partition"


async def test_a_record_that_names_its_partition_lands_there(kafka_bootstrap: str) -> None:
    topics = build_topics(
        TopicSettings(prefix=f"named-{uuid.uuid4().hex[:8]}", partitions=PARTITIONS), 1 << 20
    )
    topic = topics.lead_activity.name
    hashed = partition_for(b"lead-1", list(range(PARTITIONS)))
    named = (hashed + 1) % PARTITIONS  # not where the key would go
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    async with Publisher(kafka, topics) as publisher:
        await publisher.wait_ready(60)
        await publisher.publish(
            [
                OutboundRecord(topic, b"lead-1", b"named", (), 1_700_000_000_000, named),
                OutboundRecord(topic, b"lead-1", b"hashed", (), 1_700_000_000_000),
            ]
        )
        with pytest.raises(ValueError, match=f"no partition {PARTITIONS}"):
            await publisher.publish(
                [OutboundRecord(topic, b"lead-1", b"x", (), 1_700_000_000_000, PARTITIONS)]
            )
    records = await read_topic(kafka_bootstrap, topic)
    assert {r.value: r.partition for r in records} == {b"named": named, b"hashed": hashed}
