"""The scoring worker on the real broker: deterministic scores, a crash and restart mid-stream,
two replicas with rebalances, and the push back to a fake Marketo."""

import random
from typing import Any

import orjson

from pipeline.envelope import Envelope
from pipeline.publish import partition_for
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.scoring.handler import ScoringHandler
from pipeline.workers.scoring.settings import ScoringSettings
from tests.pipeline.events import T0, lead, records
from tests.pipeline.workers.fakes import FakeMarketo, marketo_table
from tests.pipeline.workers.harness import (
    input_topics,
    latest_by_key,
    publish,
    publisher,
    read_topic,
    running,
    start_worker,
    unique,
    until,
    worker_settings,
)
from tests.pipeline.workers.scoring.test_handler import FakePublisher

TYPES = [1, 2, 3, 7, 8, 9, 10, 11, 12, 22, 46]


def script(n: int, leads: int = 12, seed: int = 3) -> list[Envelope]:
    """A scripted activity sequence over a few leads, a minute apart."""
    rng = random.Random(seed)
    return [
        lead(rng.choice(TYPES), str(100 + rng.randrange(leads)), at_s=T0 + 60 * i) for i in range(n)
    ]


def with_resends(envs: list[Envelope], seed: int = 5) -> list[Envelope]:
    rng = random.Random(seed)
    return envs + rng.sample(envs, len(envs) // 5)


def table(docs: dict[str, dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """What must be equal between runs: the emitted score and the state (not offsets)."""
    return {
        k: (d["score"], d["state"]["current"], d["state"]["features"], d["state"]["events"])
        for k, d in docs.items()
    }


async def reference(envs: list[Envelope], settings: ScoringSettings) -> dict[str, tuple[Any, ...]]:
    """The uninterrupted run, computed by the handler alone: each event once, in order."""
    pub = FakePublisher()
    handler = ScoringHandler(
        model=settings.model,
        emit_threshold=settings.emit_threshold,
        checkpoint_interval_s=settings.checkpoint_interval_s,
        scores_topic="ref",
        publisher=pub,  # type: ignore[arg-type]
        metrics=WorkerMetrics.create(),
    )
    seen: set[str] = set()
    unique_envs = [e for e in envs if not (e.id in seen or seen.add(e.id))]  # type: ignore[func-returns-value]
    topics = input_topics("ref")
    by_lead: dict[str, list[Envelope]] = {}
    for e in unique_envs:
        by_lead.setdefault(e.subject, []).append(e)
    partitions = []
    for n, (_, lead_envs) in enumerate(sorted(by_lead.items())):  # one partition per lead
        for r in records(lead_envs, topics, partition=n):
            handler.handle(r)
            partitions.append(r.partition)
    await handler.release(sorted(set(partitions)))
    docs = {r.key.decode(): orjson.loads(r.value) for r in pub.records}
    return table(docs)


async def scores(bootstrap: str, prefix: str) -> dict[str, tuple[Any, ...]]:
    return table(latest_by_key(await read_topic(bootstrap, f"{prefix}.lead-scores")))


async def test_scores_are_deterministic_and_count_every_activity_once(kafka_bootstrap: str) -> None:
    prefix = unique("scores")
    topics = input_topics(prefix)
    envs = with_resends(script(120))
    settings = worker_settings("scoring", kafka_bootstrap, prefix)
    assert settings.scoring is not None
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, envs)
        async with running(settings) as worker:
            await worker.wait_seen(len(envs))
    got = await scores(kafka_bootstrap, prefix)
    assert got == await reference(envs, settings.scoring)
    assert len(got) == 12
    assert sum(state[3] for state in got.values()) == 120  # every activity counted once
    emitted = await read_topic(kafka_bootstrap, f"{prefix}.lead-scores")
    assert {dict(r.headers)["update"] for r in emitted} <= {b"emitted", b"checkpoint"}
    assert all(r.partition == _partition_of(r.key, topics) for r in emitted)  # co-partitioned


def _partition_of(key: bytes, topics: Any) -> int:
    return partition_for(key, [0, 1, 2])


async def test_a_crash_and_restart_mid_stream_ends_with_the_uninterrupted_scores(
    kafka_bootstrap: str,
) -> None:
    prefix = unique("crash")
    topics = input_topics(prefix)
    stream = script(150, leads=30, seed=11)
    first, second = stream[:80], stream[80:]
    settings = worker_settings("scoring", kafka_bootstrap, prefix)
    # the first run crashes before it ever commits: its scores are on the topic, its offsets not
    no_commit = worker_settings(
        "scoring", kafka_bootstrap, prefix, doc={"worker": {"commit_interval_seconds": 3600}}
    )
    assert settings.scoring is not None
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, first)
        worker = await start_worker(no_commit)
        await worker.wait_seen(len(first))
        written = len(await read_topic(kafka_bootstrap, f"{prefix}.lead-scores"))
        worker.loop._fail(RuntimeError("simulated crash"))  # no release, no final commit
        assert await worker.task == 1
        await publish(pub, topics, second + first[:20])  # and re-sends of old events
        async with running(settings) as worker:
            await worker.wait_seen(len(first) + len(second) + 20)
    assert written > 0  # the crashed run had emitted scores: they must not count twice
    assert await scores(kafka_bootstrap, prefix) == await reference(stream, settings.scoring)


async def test_two_replicas_with_rebalances_give_the_same_scores_as_one(
    kafka_bootstrap: str,
) -> None:
    prefix = unique("replicas")
    topics = input_topics(prefix)
    envs = script(240, leads=30, seed=21)
    parts = [envs[:80], envs[80:160], envs[160:]]
    settings = worker_settings("scoring", kafka_bootstrap, prefix)
    assert settings.scoring is not None
    async with publisher(kafka_bootstrap, topics) as pub:
        a = await start_worker(settings)
        await publish(pub, topics, parts[0])
        await a.wait_seen(80)
        b = await start_worker(settings)  # rebalance: a hands partitions to b
        await publish(pub, topics, parts[1])
        await until(lambda: a.seen() + b.seen() >= 160)
        assert a.loop.owned
        assert b.loop.owned
        assert await a.shutdown() == 0  # rebalance: b takes everything back
        await publish(pub, topics, parts[2])
        await until(lambda: a.seen() + b.seen() >= 240)
        assert await b.shutdown() == 0
    assert await scores(kafka_bootstrap, prefix) == await reference(envs, settings.scoring)


async def test_emitted_scores_are_pushed_back_to_marketo(
    kafka_bootstrap: str, fake_marketo: tuple[FakeMarketo, str]
) -> None:
    fake, base = fake_marketo
    prefix = unique("push")
    topics = input_topics(prefix)
    doc = {
        "scoring": {"push_to_marketo": True, "push_field": "datastreamsScore"},
        "marketo": [marketo_table(base)],
    }
    settings = worker_settings("scoring", kafka_bootstrap, prefix, doc=doc)
    envs = [lead(2, "301", at_s=T0), lead(2, "302", at_s=T0), lead(10, "303", at_s=T0)]
    async with publisher(kafka_bootstrap, topics) as pub:
        await publish(pub, topics, envs)
        async with running(settings) as worker:
            await worker.wait_seen(3)
            await until(lambda: len(fake.fields) == 2)  # the effects role, after the scores
    assert fake.fields == {
        301: {"datastreamsScore": 10.0},
        302: {"datastreamsScore": 10.0},
    }  # 303 < 5
    assert all(c[0] in ("token", "sync_leads") for c in fake.calls)
