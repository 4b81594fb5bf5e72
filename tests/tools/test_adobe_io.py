"""The simulated Adobe I/O Events webhook against a scriptable receiver: challenge first, the
documented headers, valid signatures from its key server, batches, the retry table at a time
scale, and which statuses it retries."""

import asyncio
import itertools
from dataclasses import replace
from typing import Any, cast

import aiohttp
import pytest

from ingest.signature import load_public_key, signatures_from, verifies
from tests.support.receiver import Receiver
from tests.tools.conftest import RunSimulator
from tools.simulate.run import Simulator
from tools.simulate.settings import AdobeIoSettings, SimulatorSettings
from tools.simulate.signing import SigningKey
from tools.simulate.tenants import make_tenants

Recv = tuple[Receiver, str]
ONE_EVENT = {"rate_per_s": 10.0, "duration_s": 0.12}  # generation ticks every 50 ms: one event


def adobe_only(url: str, **overrides: Any) -> SimulatorSettings:
    settings = SimulatorSettings(url=url, direct_push=False, tenants=1, drain_s=0.3)
    return replace(settings, **overrides)


def single(**overrides: Any) -> AdobeIoSettings:
    return replace(AdobeIoSettings(), batch=False, **overrides)


async def test_challenge_comes_first_then_signed_batches_of_at_most_20(
    receiver: Recv, simulate: RunSimulator, sim_keys: tuple[SigningKey, SigningKey]
) -> None:
    recv, url = receiver
    settings = adobe_only(url, tenants=2, rate_per_s=600.0, duration_s=0.6)
    _, result = await simulate(settings)
    first_two = recv.requests[:2]
    assert [r.method for r in first_two] == ["GET", "GET"]  # one challenge per registration
    assert all(r.query["challenge"] for r in first_two)
    posts = recv.of("POST", "/v1/adobe-io")
    assert posts
    assert min(p.at for p in posts) > max(r.at for r in first_two)
    keys = {k.path: load_public_key(k.pem()) for k in sim_keys}
    clients = {t.client_id for t in make_tenants(2, settings.seed)}
    delivery_ids = set()
    for post in posts:
        body = post.json()
        assert isinstance(body, list)
        assert 1 <= len(body) <= 20
        assert len(post.body) <= 2 * 2**20
        assert {e["recipientclientid"] for e in body} <= clients
        h = post.headers
        assert h["content-type"] == "application/json; charset=utf-8"
        assert h["user-agent"] == "Adobe/1.0"
        assert h["x-adobe-event-code"].startswith("com.adobe.platform.marketo.")
        assert "x-adobe-retry-count" not in h
        delivery_ids.add(h["x-adobe-delivery-id"])
        signed = signatures_from(h)
        assert len(signed) == 2
        assert all(verifies(keys[s.key_path], s.signature, post.body) for s in signed)
    assert len(delivery_ids) == len(posts)
    assert result.paths["adobe-io"].acked_events == sum(
        len(cast(list[Any], p.json())) for p in posts
    )


async def test_its_key_server_serves_the_public_keys(
    receiver: Recv, sim_keys: tuple[SigningKey, SigningKey]
) -> None:
    _, url = receiver
    simulator = Simulator(adobe_only(url, rate_per_s=20.0, duration_s=0.5), keys=sim_keys)
    run = asyncio.create_task(simulator.run())
    while not simulator.key_base_url:  # noqa: ASYNC110 - the simulator sets it once, early
        await asyncio.sleep(0.01)
    async with aiohttp.ClientSession() as session:
        for key in sim_keys:
            async with session.get(simulator.key_base_url + key.path) as resp:
                assert resp.status == 200
                assert await resp.read() == key.pem()
    await run


async def test_no_deliveries_when_the_challenge_is_not_echoed(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    recv.echo_challenge = False
    _, result = await simulate(adobe_only(url, rate_per_s=200.0, duration_s=0.3))
    assert recv.of("POST", "/v1/adobe-io") == []
    assert result.unverified_registrations == 1


async def test_retries_after_1_2_4_minutes_with_retry_count_and_new_delivery_ids(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    recv.adobe_script = lambda n: 503 if n < 3 else 200
    settings = adobe_only(url, time_scale=0.001, adobe=single(), drain_s=1.0, **ONE_EVENT)
    _, result = await simulate(settings)  # x0.001: 1 min -> 60 ms
    posts = recv.of("POST", "/v1/adobe-io")
    assert len(posts) == 4
    gaps = [(b.at - a.at) * 1000 for a, b in itertools.pairwise(posts)]
    for gap, expected in zip(gaps, (60, 120, 240), strict=True):
        assert expected * 0.9 <= gap <= expected + 80
    assert [p.headers.get("x-adobe-retry-count") for p in posts] == [None, "1", "2", "3"]
    assert len({p.headers["x-adobe-delivery-id"] for p in posts}) == 4
    assert len({p.headers["x-adobe-event-id"] for p in posts}) == 1
    assert len({p.body for p in posts}) == 1
    assert result.paths["adobe-io"].acked_events == 1


@pytest.mark.parametrize(
    ("status", "retried"),
    [(429, True), (500, True), (503, True), (400, False), (413, False), (505, False)],
)
async def test_which_statuses_are_retried(
    receiver: Recv, simulate: RunSimulator, status: int, retried: bool
) -> None:
    recv, url = receiver
    recv.adobe_script = lambda n: status
    settings = adobe_only(url, time_scale=0.001, adobe=single(), drain_s=0.25, **ONE_EVENT)
    _, result = await simulate(settings)
    attempts = len(recv.of("POST", "/v1/adobe-io"))
    stats = result.paths["adobe-io"]
    if retried:
        assert attempts >= 3
        assert stats.dropped_events == 0
    else:
        assert attempts == 1
        assert stats.dropped_events == 1


async def test_a_timeout_is_retried(receiver: Recv, simulate: RunSimulator) -> None:
    recv, url = receiver
    recv.delay_s = 0.2
    adobe = single(timeout_s=0.05)
    settings = adobe_only(url, time_scale=0.001, adobe=adobe, drain_s=0.3, **ONE_EVENT)
    _, result = await simulate(settings)
    assert len(recv.of("POST", "/v1/adobe-io")) >= 2
    assert result.paths["adobe-io"].statuses["timeout"] >= 2
