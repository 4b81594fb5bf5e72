"""Smoke tests against the real Kafka broker (fixture ``kafka_bootstrap``).

They pin down the protocol features the pipeline relies on with aiokafka: admin
create_topics (+ leaders elected), idempotent produce with acks=all, consumer-group fetch and
offset commit, and reading committed offsets back through the admin API.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import RecordMetadata

WAIT_S = 30.0


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Create ``topic`` and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name=topic, num_partitions=partitions, replication_factor=1)]
        )
        errors = {
            entry["topic"]: (entry["error_code"], entry.get("error_message"))
            for entry in response.to_object()["topic_errors"]
        }
        assert errors == {topic: (0, None)}, errors

        async with asyncio.timeout(WAIT_S):
            while True:
                (described,) = await admin.describe_topics([topic])
                leaders = {p["partition"]: p["leader"] for p in described["partitions"]}
                if (
                    described["error_code"] == 0
                    and len(leaders) == partitions
                    and all(leader >= 0 for leader in leaders.values())
                ):
                    return
                await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def test_create_topics_elects_leaders(kafka_bootstrap: str) -> None:
    topic = unique_name("smoke-admin")
    await create_topic(kafka_bootstrap, topic, partitions=3)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert topic in await admin.list_topics()
        cluster = await admin.describe_cluster()
        assert [b["node_id"] for b in cluster["brokers"]] == [1]
    finally:
        await admin.close()


async def test_idempotent_produce_and_group_commit(kafka_bootstrap: str) -> None:
    topic = unique_name("smoke-produce")
    group = unique_name("smoke-group")
    partitions = 3
    count = 60
    await create_topic(kafka_bootstrap, topic, partitions=partitions)

    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
    )
    await producer.start()
    try:
        # Many sends in flight at once: the idempotent producer's sequence numbers per
        # partition and batching are exercised, not just one request at a time.
        futures = [
            await producer.send(
                topic,
                key=f"k{i}".encode(),
                value=f"v{i}".encode(),
                partition=i % partitions,
            )
            for i in range(count)
        ]
        metadata: list[RecordMetadata] = list(await asyncio.gather(*futures))
    finally:
        await producer.stop()

    expected_end: dict[TopicPartition, int] = defaultdict(int)
    for i, md in enumerate(metadata):
        assert md.topic == topic
        assert md.partition == i % partitions
        expected_end[TopicPartition(topic, md.partition)] = max(
            expected_end[TopicPartition(topic, md.partition)], md.offset + 1
        )
    assert dict(expected_end) == {
        TopicPartition(topic, p): count // partitions for p in range(partitions)
    }

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        received: dict[int, list[tuple[bytes | None, bytes | None, int]]] = defaultdict(list)
        async with asyncio.timeout(WAIT_S):
            while sum(len(v) for v in received.values()) < count:
                batches = await consumer.getmany(timeout_ms=500)
                for tp, records in batches.items():
                    received[tp.partition].extend((r.key, r.value, r.offset) for r in records)
        assert sum(len(v) for v in received.values()) == count
        for p in range(partitions):
            assert received[p] == [
                (f"k{i}".encode(), f"v{i}".encode(), n)
                for n, i in enumerate(range(p, count, partitions))
            ]

        await consumer.commit()
        for tp, end in expected_end.items():
            assert await consumer.committed(tp) == end
    finally:
        await consumer.stop()

    # The committed offsets as the group coordinator stores them (OffsetFetch via admin).
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        assert {tp: om.offset for tp, om in offsets.items()} == dict(expected_end)
    finally:
        await admin.close()

    # A new member of the same group resumes at the committed offsets: nothing is left.
    resumed = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await resumed.start()
    try:
        async with asyncio.timeout(WAIT_S):
            while not resumed.assignment():
                await resumed.getmany(timeout_ms=200)
        for tp, end in expected_end.items():
            assert await resumed.position(tp) == end
        assert await resumed.getmany(timeout_ms=500) == {}
    finally:
        await resumed.stop()
