"""The consume loop against the real broker: at-least-once with commits after handling,
per-partition order, dead letters, retries, shutdown, restart and rebalance restoring the id
memory, and replicas sharing partitions."""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry

import pipeline.consume.loop as loop_module
from pipeline.consume.handler import Reader
from pipeline.consume.loop import ConsumeLoop
from pipeline.consume.metrics import ConsumeMetrics
from pipeline.consume.record import Partition, Record
from pipeline.consume.settings import ConsumeSettings
from pipeline.errors import PublishTimeout
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings
from pipeline.topics import Topics
from tests.pipeline.events import lead
from tests.pipeline.workers.harness import (
    WAIT_S,
    input_topics,
    publish,
    publisher,
    read_topic,
    unique,
)


class Recorder:
    """A handler that records what it was given; flushes can be made to fail."""

    replay_horizon_s = 0.0

    def __init__(self, *, decode: bool = False, poison: Collection[str] = ()) -> None:
        self.decode = decode
        self.poison = set(poison)
        self.buffered: list[tuple[int, int, str]] = []
        self.flushed: list[tuple[int, int, str]] = []
        self.fail_flushes = 0
        self.restored: list[Partition] = []

    def handle(self, record: Record) -> None:
        if record.event_id in self.poison:
            raise ValueError("poison")
        if self.decode:
            record.document()
        self.buffered.append((record.partition.partition, record.offset, record.event_id))

    def replay(self, record: Record) -> None:
        return None

    async def flush(self) -> None:
        if self.fail_flushes:
            self.fail_flushes -= 1
            raise PublishTimeout("the broker is slow")  # retriable
        self.flushed += self.buffered
        self.buffered = []

    def pending_offset(self, partition: Partition) -> int | None:
        return None

    async def restore(self, partitions: Sequence[Partition], reader: Reader) -> None:
        self.restored += partitions

    async def release(self, partitions: Sequence[Partition]) -> None:
        return None

    def forget(self, partitions: Collection[Partition]) -> None:
        return None

    async def tick(self, now_s: float) -> None:
        return None

    def ids(self) -> list[str]:
        return [e for _, _, e in self.flushed]


SETTINGS = dict(
    commit_interval_s=0.1,
    poll_timeout_s=0.1,
    fetch_max_wait_ms=50,
    heartbeat_interval_ms=300,
    session_timeout_ms=6000,
    retry_initial_s=0.05,
    retry_max_s=0.2,
    drain_timeout_s=10.0,
)


def make_loop(
    bootstrap: str,
    topics: Topics,
    group: str,
    handler: Recorder,
    pub: Publisher,
    name: str = "test",
) -> ConsumeLoop:
    return ConsumeLoop(
        name=name,
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        settings=ConsumeSettings(group_id=group, **SETTINGS),  # type: ignore[arg-type]
        topics=[topics.lead_activity.name],
        handler=handler,
        publisher=pub,
        dead_letter_topic=topics.dead_letter.name,
        metrics=ConsumeMetrics.create(CollectorRegistry()),
    )


@contextlib.asynccontextmanager
async def looping(loop: ConsumeLoop) -> AsyncIterator[ConsumeLoop]:
    await loop.start()
    try:
        await loop.wait_ready(WAIT_S)
        yield loop
    finally:
        await loop.stop()


async def until(condition: Any, timeout_s: float = WAIT_S) -> None:
    async with asyncio.timeout(timeout_s):
        while True:  # polling: the handler offers no notification
            if condition():
                return
            await asyncio.sleep(0.05)


def count(loop: ConsumeLoop, outcome: str) -> int:
    return int(loop._counted[outcome]._value.get())


async def committed(bootstrap: str, group: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


async def test_handles_each_record_once_in_partition_order_and_commits_after_handling(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics, group = input_topics(unique("consume")), unique("g")
    envs = [lead(10, str(i % 7), at_s=1.0 * i) for i in range(60)]
    recorder = Recorder()
    batches_ended = 0

    def collect_between_batches() -> None:
        nonlocal batches_ended
        batches_ended += 1

    monkeypatch.setattr(loop_module, "collect_between_batches", collect_between_batches)
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, envs + envs[:5])  # five upstream re-sends
        async with looping(make_loop(kafka_bootstrap, topics, group, recorder, pub)) as loop:
            await until(lambda: count(loop, "handled") + count(loop, "duplicate") == 65)
        assert sorted(recorder.ids()) == sorted(e.id for e in envs)
        assert count(loop, "duplicate") == 5
        assert batches_ended >= 1  # the young garbage is collected after a batch, not during one
        per_partition: dict[int, list[int]] = defaultdict(list)
        for partition, offset, _ in recorder.flushed:
            per_partition[partition].append(offset)
        assert all(offsets == sorted(offsets) for offsets in per_partition.values())
        # the lead's events arrive in the order they were published
        lead_zero = [e for _, _, e in recorder.flushed if e in {x.id for x in envs[::7]}]
        assert lead_zero == [e.id for e in envs[::7]]
    on_kafka: defaultdict[int, int] = defaultdict(int)
    for r in await read_topic(kafka_bootstrap, topics.lead_activity.name):
        on_kafka[r.partition] = max(on_kafka[r.partition], r.offset + 1)
    assert await committed(kafka_bootstrap, group) == dict(on_kafka)


async def test_undecodable_and_failing_records_go_to_the_dead_letter_topic(
    kafka_bootstrap: str,
) -> None:
    topics, group = input_topics(unique("dlq")), unique("g")
    good, poison = lead(10, "1"), lead(10, "2")
    recorder = Recorder(decode=True, poison={poison.id})
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    async with publisher(kafka_bootstrap, topics) as pub:
        await producer.start()
        try:
            name = topics.lead_activity.name
            await producer.send_and_wait(
                name, b"{not json", key=b"k", headers=[("ce_id", b"bad-1")]
            )
            await producer.send_and_wait(name, b"[1, 2]", key=b"k", headers=[("ce_id", b"bad-2")])
            await producer.send_and_wait(name, b"\xff\xfe", key=b"k")  # no id header at all
        finally:
            await producer.stop()
        await publish(pub, topics, [good, poison])
        async with looping(
            make_loop(kafka_bootstrap, topics, group, recorder, pub, "dlqtest")
        ) as loop:
            await until(lambda: count(loop, "handled") + count(loop, "deadlettered") == 5)
    assert recorder.ids() == [good.id]
    letters = await read_topic(kafka_bootstrap, topics.dead_letter.name)
    reasons = sorted(
        (dict(r.headers)["dl_reason"].decode(), dict(r.headers)["ce_id"].decode()) for r in letters
    )
    assert [r for r, _ in reasons] == [
        "handler_error",
        "invalid_envelope",
        "malformed_json",
        "malformed_json",
    ]
    assert ("handler_error", poison.id) in reasons
    assert ("malformed_json", "bad-1") in reasons
    assert all(dict(r.headers)["dl_worker"] == b"dlqtest" for r in letters)
    assert {r.value for r in letters} >= {b"{not json", b"[1, 2]", b"\xff\xfe"}  # raw bytes kept
    assert all(
        dict(r.headers)["dl_source"].startswith(topics.lead_activity.name.encode()) for r in letters
    )


async def test_retriable_flush_errors_back_off_and_nothing_is_committed_before_success(
    kafka_bootstrap: str,
) -> None:
    topics, group = input_topics(unique("retry")), unique("g")
    recorder = Recorder()
    recorder.fail_flushes = 4
    envs = [lead(10, str(i)) for i in range(10)]
    async with publisher(kafka_bootstrap, topics) as pub:
        async with looping(make_loop(kafka_bootstrap, topics, group, recorder, pub)) as loop:
            await publish(pub, topics, envs)
            await until(lambda: len(recorder.flushed) == 10)
            retries = loop._metrics.retries.labels("test", "flush")._value.get()
        assert retries == 4
    assert sorted(recorder.ids()) == sorted(e.id for e in envs)
    assert sum((await committed(kafka_bootstrap, group)).values()) == 10


async def test_a_restart_restores_the_id_memory_from_the_partitions(kafka_bootstrap: str) -> None:
    topics, group = input_topics(unique("restart")), unique("g")
    first = [lead(10, str(i)) for i in range(20)]
    later = lead(10, "99")
    async with publisher(kafka_bootstrap, topics) as pub:
        one = Recorder()
        await publish(pub, topics, first)
        async with looping(make_loop(kafka_bootstrap, topics, group, one, pub)) as loop:
            await until(lambda: count(loop, "handled") == 20)
        # Adobe re-sends every event after the restart, and one new event arrives
        await publish(pub, topics, [*first, later])
        two = Recorder()
        async with looping(make_loop(kafka_bootstrap, topics, group, two, pub)) as loop:
            await until(lambda: count(loop, "handled") + count(loop, "duplicate") == 21)
            restored = loop._metrics.restored_records.labels("test")._value.get()
    assert two.ids() == [later.id]
    assert count(loop, "duplicate") == 20
    assert restored == 20  # the ids of the handled records were re-read
    assert len(two.restored) == 3


async def test_replicas_share_partitions_and_a_rebalance_hands_the_id_memory_over(
    kafka_bootstrap: str,
) -> None:
    topics, group = input_topics(unique("replicas")), unique("g")
    batch_one = [lead(10, str(i)) for i in range(30)]
    batch_two = [lead(10, str(i)) for i in range(30, 60)]
    a, b = Recorder(), Recorder()
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, batch_one)
        async with looping(make_loop(kafka_bootstrap, topics, group, a, pub, "a")) as loop_a:
            await until(lambda: count(loop_a, "handled") == 30)
            async with looping(make_loop(kafka_bootstrap, topics, group, b, pub, "b")) as loop_b:
                await until(
                    lambda: loop_a.owned and loop_b.owned and not loop_a.owned & loop_b.owned
                )
                assert len(loop_a.owned | loop_b.owned) == 3
                # re-sends of the first batch land on partitions b now owns: b must skip them
                await publish(pub, topics, batch_one + batch_two)
                seen = lambda lp: sum(count(lp, o) for o in ("handled", "duplicate"))  # noqa: E731
                await until(lambda: seen(loop_a) + seen(loop_b) == 90)
    handled = a.ids() + b.ids()
    assert sorted(handled) == sorted(e.id for e in batch_one + batch_two)  # each exactly once
    assert b.ids()  # b really took partitions over
    assert count(loop_a, "duplicate") + count(loop_b, "duplicate") == 30


async def test_an_assignment_that_arrives_while_stopping_is_ignored_not_fatal(
    kafka_bootstrap: str,
) -> None:
    # Found by the chaos run: two replicas stopped at once; the rebalance one's leaving caused
    # completed in the other while its consumer was stopping, and it exited 1.
    topics, group = input_topics(unique("stopping")), unique("g")
    async with publisher(kafka_bootstrap, topics) as pub:
        loop = make_loop(kafka_bootstrap, topics, group, Recorder(), pub)
        async with looping(loop):
            owned = set(loop.owned)
        await loop._on_assigned(owned)  # as aiokafka's listener may, during consumer.stop()
    assert loop.failure is None
