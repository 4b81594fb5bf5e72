"""A three-broker KRaft cluster on loopback (replication factor 3, min.insync.replicas 2): one
broker is killed under load; no acknowledged event is lost and the ingress keeps serving."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.settings import ServerSettings
from pipeline.envelope import Envelope
from pipeline.settings import KafkaSettings, TopicSettings
from tests import payloads as p
from tests.conftest import Ingress, IngressFactory
from tests.kafka_fixture import LIBS_DIR, load_broker_module

NODES = 3
LOAD_S = 12.0
KILL_AFTER_S = 3.0


@dataclass
class Cluster:
    nodes: list[Path]
    bootstrap: str


@pytest.fixture
async def cluster(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    broker = load_broker_module()
    ports = [(broker.free_port(), broker.free_port()) for _ in range(NODES)]
    started = time.monotonic()
    nodes = await asyncio.to_thread(broker.start_cluster, tmp_path / "cluster", ports, LIBS_DIR)
    print(f"cluster of {NODES} up in {time.monotonic() - started:.1f} s")
    yield Cluster(nodes, ",".join(f"127.0.0.1:{port}" for port, _ in ports))
    for node in nodes:  # a crash stop: a graceful one waits for a quorum that may be gone
        await asyncio.to_thread(broker.kill_broker, node)


async def load(
    ingress: Ingress, until: float, acknowledged: list[str], statuses: list[int]
) -> None:
    while time.monotonic() < until:
        activities = [p.activity(lead=str(n)) for n in range(20)]
        resp = await ingress.post_push(p.direct_push(activities))
        statuses.append(resp.status)
        if resp.status == 200:
            acknowledged.extend(a["marketoGUID"] for a in activities)
        else:
            await asyncio.sleep(0.2)


async def test_killing_one_of_three_brokers_loses_nothing(
    cluster: Cluster, make_ingress: IngressFactory
) -> None:
    # cluster is set up first so that it is torn down last, after the ingress has flushed
    bootstrap = cluster.bootstrap
    ingress = await make_ingress(
        bootstrap=bootstrap,
        kafka=KafkaSettings(bootstrap_servers=bootstrap, publish_timeout_s=5.0),
        topics=TopicSettings(
            prefix="ha", partitions=3, replication_factor=3, min_insync_replicas=2
        ),
        server=ServerSettings(host="127.0.0.1", port=0),
    )
    acknowledged: list[str] = []
    statuses: list[int] = []
    started = time.monotonic()
    loaders = [
        asyncio.create_task(load(ingress, started + LOAD_S, acknowledged, statuses))
        for _ in range(3)
    ]
    await asyncio.sleep(KILL_AFTER_S)
    before_kill = len(statuses)
    await asyncio.to_thread(load_broker_module().kill_broker, cluster.nodes[0])
    await asyncio.gather(*loaders)

    after_kill = statuses[before_kill:]
    assert after_kill.count(200) > 0, "the ingress stopped serving after one broker died"
    assert all(s in (200, 503) for s in statuses), set(statuses)
    records = await ingress.records(ingress.topics.lead_activity.name, timeout_s=60)
    on_topic = {Envelope.from_json(r.value).id for r in records}
    lost = set(acknowledged) - on_topic
    assert not lost, f"{len(lost)} acknowledged events missing"
    print(
        f"acknowledged {len(acknowledged)} events in {len(statuses)} deliveries; "
        f"after the kill {after_kill.count(200)} ok, {after_kill.count(503)} answered 503; "
        f"{len(records) - len(on_topic)} duplicates on the topic"
    )
