"""Broker outage: while Kafka is down the ingress answers 503 + Retry-After within its bound,
/readyz is 503 and the metrics say so; when Kafka returns it recovers by itself, and every
delivery answered 2xx is on the topic."""

import asyncio
import time

from ingest.settings import ServerSettings
from pipeline.envelope import Envelope
from pipeline.settings import KafkaSettings
from tests import payloads as p
from tests.conftest import Ingress, IngressFactory
from tests.reliability.conftest import OwnBroker


async def deliver(ingress: Ingress, n: int) -> tuple[int, list[str]]:
    activities = [p.activity() for _ in range(n)]
    resp = await ingress.post_push(p.direct_push(activities))
    return resp.status, [a["marketoGUID"] for a in activities]


async def wait_for_status(ingress: Ingress, path: str, status: int, timeout_s: float) -> float:
    started = time.monotonic()
    async with asyncio.timeout(timeout_s):
        while True:  # polling: readiness has no push notification
            if (await ingress.client.get(path)).status == status:
                break
            await asyncio.sleep(0.2)
    return time.monotonic() - started


async def test_outage_then_recovery_loses_nothing(
    make_ingress: IngressFactory, own_broker: OwnBroker
) -> None:
    ingress = await make_ingress(
        bootstrap=own_broker.bootstrap,
        kafka=KafkaSettings(
            bootstrap_servers=own_broker.bootstrap, publish_timeout_s=2.0, health_interval_s=0.5
        ),
        server=ServerSettings(host="127.0.0.1", port=0),
    )
    acknowledged: list[str] = []
    status, ids = await deliver(ingress, 50)
    assert status == 200
    acknowledged += ids

    await own_broker.stop()
    started = time.monotonic()
    status, _ = await deliver(ingress, 50)
    elapsed = time.monotonic() - started
    assert status == 503
    assert elapsed < 4.0  # the publish bound (2 s) plus slack, never a hang
    await wait_for_status(ingress, "/readyz", 503, 10)
    metrics = await (await ingress.client.get("/metrics")).text()
    assert "datastreams_kafka_ready 0.0" in metrics
    assert 'datastreams_events_total{outcome="rejected",stream="lead-activity"}' in metrics

    await own_broker.start()
    recovered_s = await wait_for_status(ingress, "/readyz", 200, 60)
    for _ in range(3):
        status, ids = await deliver(ingress, 50)
        if status == 200:
            acknowledged += ids
    assert len(acknowledged) >= 100
    on_topic = {
        Envelope.from_json(r.value).id
        for r in await ingress.records(ingress.topics.lead_activity.name)
    }
    assert set(acknowledged) <= on_topic
    print(f"recovered {recovered_s:.1f} s after the broker came back")
