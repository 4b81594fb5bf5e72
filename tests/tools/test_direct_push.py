"""The simulated direct push against a scriptable receiver: batches, cadence, the retry, pause
and re-enable schedule at a time scale, retention, and both credential kinds."""

import itertools
from dataclasses import replace
from statistics import median
from typing import Any

from tests.support.receiver import Received, Receiver
from tests.tools.conftest import RunSimulator
from tools.simulate.settings import DirectPushSettings, OAuthClient, SimulatorSettings
from tools.simulate.tenants import make_tenants

Recv = tuple[Receiver, str]


def push_only(url: str, **overrides: Any) -> SimulatorSettings:
    return replace(SimulatorSettings(url=url, adobe_io=False, drain_s=0.3), **overrides)


def gaps_ms(requests: list[Received]) -> list[float]:
    return [(b.at - a.at) * 1000 for a, b in itertools.pairwise(requests)]


def activities(request: Received) -> list[Any]:
    body = request.json()
    assert isinstance(body, dict)
    return list(body["activities"])


async def test_batches_of_100_to_500_every_interval_in_the_documented_body(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    settings = push_only(url, tenants=2, time_scale=0.05, duration_s=1.0)  # 2 s -> 100 ms
    _simulator, result = await simulate(settings)
    posts = recv.of("POST", "/v1/lead-activity")
    assert len(posts) >= 10
    tenants = {t.munchkin_id: t for t in make_tenants(2, settings.seed)}
    for post in posts:
        body = post.json()
        assert isinstance(body, dict)
        assert set(body) == {
            "sourceApplication", "munchkinId", "messageId", "messageCreatedDate", "activities"
        }  # fmt: skip
        assert 100 <= len(body["activities"]) <= 500
        assert post.headers["authorization"] == f"Bearer {tenants[body['munchkinId']].token}"
    for munchkin in tenants:
        mine = [p for p in posts if p.json()["munchkinId"] == munchkin]  # type: ignore[index]
        assert 90 <= median(gaps_ms(mine)) <= 160
    assert result.paths["direct-push"].acked_events == sum(len(activities(p)) for p in posts)


async def test_three_retries_three_minutes_apart_then_paused_until_a_reenable_succeeds(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    recv.push_script = lambda n: 503 if n < 6 else 200
    # x0.002: 2 s -> 4 ms, 3 min -> 360 ms
    settings = push_only(url, tenants=1, time_scale=0.002, rate_per_s=400.0, duration_s=2.6)
    _simulator, result = await simulate(settings, drain_s=0.2)
    posts = recv.of("POST", "/v1/lead-activity")
    failing, after = posts[:7], posts[7:]
    # first try, 3 retries, then 2 re-enable attempts while paused (one fails, one succeeds)
    for gap in gaps_ms(failing):
        assert 330 <= gap <= 520
    first = activities(failing[0])
    assert all(activities(p) == first for p in failing)  # the same batch each time
    assert after, "the push went back to its cadence after the successful re-enable"
    assert (after[0].at - failing[-1].at) * 1000 < 100
    stats = result.paths["direct-push"]
    assert stats.retries == 6
    assert stats.statuses["503"] == 6


async def test_paused_push_drops_activities_past_the_retention(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    recv.push_script = lambda n: 500
    policy = DirectPushSettings(retention_s=600.0)  # 10 min -> 1.2 s at x0.002
    settings = push_only(url, tenants=1, time_scale=0.002, rate_per_s=300.0, duration_s=1.8)
    _simulator, result = await simulate(settings, push=policy)
    assert result.paused_subscriptions == 1
    assert result.paths["direct-push"].expired_events > 0
    assert result.paths["direct-push"].acked_events == 0


async def test_bare_static_token(receiver: Recv, simulate: RunSimulator) -> None:
    recv, url = receiver
    settings = push_only(url, tenants=1, time_scale=0.05, rate_per_s=400.0, duration_s=0.5)
    await simulate(settings, push=DirectPushSettings(bearer=False))
    [tenant] = make_tenants(1, settings.seed)
    assert recv.of("POST", "/v1/lead-activity")[0].headers["authorization"] == tenant.token


async def test_oauth_token_is_fetched_cached_and_refetched_after_401(
    receiver: Recv, simulate: RunSimulator
) -> None:
    recv, url = receiver
    recv.push_script = lambda n: 401 if n == 1 else 200
    oauth = OAuthClient(f"{url}/token", "marketo-stream", "s3cret")
    settings = push_only(url, tenants=1, time_scale=0.002, rate_per_s=2000.0, duration_s=0.8)
    await simulate(settings, oauth=oauth)  # the 401 is a failure: retried 360 ms later
    posts = recv.of("POST", "/v1/lead-activity")
    assert len(posts) >= 4
    assert recv.tokens_issued == ["token-0", "token-1"]
    assert [p.headers["authorization"] for p in posts[:2]] == ["Bearer token-0"] * 2
    assert {p.headers["authorization"] for p in posts[2:]} == {"Bearer token-1"}
