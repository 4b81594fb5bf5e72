"""Limits against a real app and broker: each refusal is precise, publishes nothing, and the
server stays healthy afterwards."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ingest.settings import AdobeIoSettings, LimitSettings, ServerSettings
from pipeline.config import MIB
from tests.support import payloads as p
from tests.support.ingress import (
    TOKEN,
    Ingress,
    IngressFactory,
    answer,
)
from tests.support.payloads import inflating_push

PUSH_HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def server(**overrides: Any) -> ServerSettings:
    return ServerSettings(host="127.0.0.1", port=0, **overrides)


async def still_healthy(ingress: Ingress) -> None:
    assert (await ingress.client.get("/healthz")).status == 200
    resp = await ingress.post_push(p.direct_push([p.activity()]))
    assert resp.status == 200, await resp.text()


async def test_events_per_second_limit(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(limits=LimitSettings(events_per_s=0.5, events_burst=10))
    assert (await ingress.post_push(p.direct_push([p.activity() for _ in range(10)]))).status == 200
    resp = await ingress.post_push(p.direct_push([p.activity()]))
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 1
    body = await resp.json()
    assert body["error"] == "rate_limited"
    assert "events/s" in body["detail"]
    # Adobe deliveries are another credential, with their own bucket
    assert (await ingress.post_adobe(p.lads_event())).status == 200
    assert len(await ingress.records(ingress.topics.lead_activity.name)) == 11
    metrics = await (await ingress.client.get("/metrics")).text()
    assert 'datastreams_limited_total{code="rate_limited",route="lead-activity"} 1.0' in metrics


async def test_deliveries_per_second_limit(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(limits=LimitSettings(deliveries_per_s=0.01, deliveries_burst=2))
    for _ in range(2):
        assert (await ingress.post_push(p.direct_push([p.activity()]))).status == 200
    resp = await ingress.post_push(p.direct_push([p.activity()]))
    assert resp.status == 429
    assert int(resp.headers["Retry-After"]) >= 60
    assert await ingress.total_published() == 2


async def test_too_many_events_in_one_delivery(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(server=server(max_events_per_delivery=5))
    resp = await ingress.post_push(p.direct_push([p.activity() for _ in range(6)]))
    assert resp.status == 413
    assert (await resp.json())["error"] == "too_many_events"
    resp = await ingress.post_adobe([p.lads_event() for _ in range(6)])
    assert resp.status == 413
    assert await ingress.total_published() == 0


def nested(depth: int) -> Any:
    doc: Any = "bottom"
    for _ in range(depth):
        doc = {"a": [doc]}
    return doc


async def test_deep_nesting(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(server=server(max_json_depth=16))
    activity = p.activity() | {"attributes": nested(10)}
    resp = await ingress.post_push(p.direct_push([activity]))
    assert await resp.json() == {"accepted": 0, "deadlettered": 1}  # authenticated: kept
    [letter] = await ingress.records(ingress.topics.dead_letter.name)
    assert dict(letter.headers)["dl_reason"] == b"too_deep"
    hostile = b"[" * 5000 + b"]" * 5000  # beyond the JSON parser's own limit
    resp = await ingress.post_push(hostile)
    assert await resp.json() == {"accepted": 0, "deadlettered": 1}
    await still_healthy(ingress)


async def test_deep_nesting_unauthenticated_is_400(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(
        server=server(max_json_depth=16), adobe_io=AdobeIoSettings(verify_signatures=False)
    )
    resp = await ingress.client.post(
        "/v1/adobe-io",
        data=orjson.dumps([nested(20)]),
        headers={"content-type": "application/json"},
    )
    assert resp.status == 400
    assert (await resp.json())["error"] == "too_deep"
    assert await ingress.total_published() == 0


async def slow_body(chunks: int, pause_s: float) -> AsyncIterator[bytes]:
    yield b'{"activities": ['
    for _ in range(chunks):
        await asyncio.sleep(pause_s)
        yield b" "
    yield b"]}"


async def test_slow_body_gets_408(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(server=server(body_timeout_s=0.5))
    resp = await ingress.client.post(
        "/v1/lead-activity", data=slow_body(20, 0.1), headers=PUSH_HEADERS
    )
    assert resp.status == 408
    assert (await resp.json())["error"] == "request_timeout"
    await still_healthy(ingress)
    assert await ingress.total_published() == 1


async def test_over_concurrency_is_shed_with_503(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(server=server(max_concurrent_deliveries=1, body_timeout_s=10))
    holder = asyncio.create_task(
        ingress.client.post("/v1/lead-activity", data=slow_body(10, 0.1), headers=PUSH_HEADERS)
    )
    await asyncio.sleep(0.3)
    resp = await ingress.post_push(p.direct_push([p.activity()]))
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert (await resp.json())["error"] == "overloaded"
    held = await holder
    assert held.status == 200  # the delivery that held the slot completes normally
    await still_healthy(ingress)
    assert await ingress.total_published() == 1


async def test_compressed_bodies_cannot_bypass_the_in_flight_budget(
    make_ingress: IngressFactory,
) -> None:
    server = ServerSettings(host="127.0.0.1", port=0, max_in_flight_body_bytes=4 * MIB)
    ingress = await make_ingress(server=server)
    # A slow delivery holds its place in the budget while its body trickles in.
    http = ingress.client.server
    _, writer = await asyncio.open_connection(http.host, http.port)
    writer.write(
        b"POST /v1/lead-activity HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n{{".encode()
    )
    await writer.drain()
    await asyncio.sleep(0.2)
    bomb = inflating_push(6 * MIB)
    assert len(bomb) < 64 * 1024
    resp = await ingress.post_push(bomb, **{"Content-Encoding": "gzip"})
    status, body = await answer(resp)
    assert (status, body["error"]) == (503, "overloaded")
    writer.close()
    # Alone, the same body is within budget and accepted.
    await asyncio.sleep(0.2)
    resp = await ingress.post_push(inflating_push(3 * MIB), **{"Content-Encoding": "gzip"})
    assert await answer(resp) == (200, {"accepted": 0, "deadlettered": 0})
