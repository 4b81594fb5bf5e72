"""Without a broker the ingress answers 503 with Retry-After within its bound, never hangs."""

import time
from typing import Any

from pipeline.settings import KafkaSettings
from tests.support import payloads as p
from tools.process import free_port as closed_port


async def test_no_broker_means_503_fast_and_not_ready(make_ingress: Any) -> None:
    bootstrap = f"127.0.0.1:{closed_port()}"
    ingress = await make_ingress(
        wait_ready=False,
        bootstrap=bootstrap,
        kafka=KafkaSettings(bootstrap_servers=bootstrap, publish_timeout_s=2.0),
    )
    started = time.monotonic()
    resp = await ingress.post_push(p.direct_push([p.activity()]))
    elapsed = time.monotonic() - started
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "5"
    assert (await resp.json())["error"] == "kafka_unavailable"
    assert elapsed < 5.0
    resp = await ingress.post_adobe(p.lads_event())
    assert resp.status == 503
    ready = await ingress.client.get("/readyz")
    assert ready.status == 503
    assert (await ingress.client.get("/healthz")).status == 200
    metrics = await (await ingress.client.get("/metrics")).text()
    assert "datastreams_kafka_ready 0.0" in metrics
    assert 'datastreams_http_requests_total{route="lead-activity",status="503"} 1.0' in metrics


async def test_ready_with_a_broker(ingress: Any) -> None:
    resp = await ingress.client.get("/readyz")
    assert resp.status == 200
    metrics = await (await ingress.client.get("/metrics")).text()
    assert "datastreams_kafka_ready 1.0" in metrics
