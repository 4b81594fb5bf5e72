"""The Marketo sink against a fake Marketo REST server: every write-back call, batching, tokens,
Marketo's error codes."""

import asyncio
from collections.abc import Sequence

import aiohttp
import pytest

from pipeline.consume.record import Partition, Record
from pipeline.marketo.client import MarketoClient
from pipeline.marketo.errors import MarketoRejected
from pipeline.marketo.limiter import Limiter
from pipeline.workers.effects.effect import Effect
from pipeline.workers.effects.marketo import MarketoSink
from pipeline.workers.metrics import WorkerMetrics
from tests.pipeline.events import MUNCHKIN
from tests.pipeline.workers.fakes import CLIENT_ID, FakeMarketo, instance, sample

SOURCE = Record(Partition("t.score-crossings", 0), 0, 0, b"k", b"{}", (), "x", MUNCHKIN, "", "")
slept: list[float] = []


async def no_wait(seconds: float) -> None:
    slept.append(seconds)


def effect(sink: str, lead: int, *target: int | str, value: float = 0.0) -> Effect:
    return Effect(sink, f"{sink}-{lead}", SOURCE, MUNCHKIN, lead, target, value)


class Clock:
    """The limiter's clock: a pause after 606 passes at once, and is seen to pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def sink(session: aiohttp.ClientSession, base: str, metrics: WorkerMetrics) -> MarketoSink:
    clock, marketo = Clock(), instance(base)
    limiter = Limiter(marketo, clock=clock, sleep=clock.sleep)
    return MarketoSink(
        {MUNCHKIN: MarketoClient(session, marketo, limiter=limiter)}, metrics, no_wait
    )


async def test_each_write_back_call_in_batches_marketo_allows(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    marketo = sink(session, base, metrics)
    adds = [effect("marketo_list", i, 1001) for i in range(1, 351)]
    assert await marketo.deliver(adds) == []
    assert [len(c[1]["body"]["input"]) for c in fake.calls if c[0] == "add_to_list"] == [300, 50]
    removals = [effect("marketo_unlist", i, 1001) for i in (1, 2, 9999)]
    campaigns = [effect("marketo_campaign", i, 77, "{{my.score}}", "62") for i in range(1, 151)]
    programs = [effect("marketo_program", i, 2001, "Nurture.Member") for i in (5, 6)]
    fields = [effect("marketo_field", 5, "leadScore", value=1.5)]
    fields.append(effect("marketo_field", 5, "leadScore", value=7.25))  # the newest wins
    assert await marketo.deliver([*removals, *campaigns, *programs, *fields]) == []
    assert fake.lists[1001] == set(range(3, 351))
    assert [(c, len(leads), t) for c, leads, t in fake.requests] == [
        (77, 100, {"{{my.score}}": "62"}),
        (77, 50, {"{{my.score}}": "62"}),
    ]
    assert fake.programs == {2001: {5: "Nurture.Member", 6: "Nurture.Member"}}
    assert fake.fields[5] == {"leadScore": 7.25}
    token_calls = [c for c in fake.calls if c[0] == "token"]
    assert token_calls == [("token", {"grant_type": "client_credentials", "client_id": CLIENT_ID})]
    assert sample(metrics, "marketo_unlist", "ok") == 2
    assert sample(metrics, "marketo_unlist", "skipped") == 1  # not on the list
    assert sample(metrics, "marketo_campaign", "ok") == 150


@pytest.mark.parametrize("code", ["601", "602", "606", "615", "604", 503])
async def test_each_error_code_once_then_the_call_succeeds(
    code: str | int, fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    fake.failures = [code]
    slept.clear()
    assert (
        await sink(session, base, metrics).deliver([effect("marketo_campaign", 3, 9, "", "")]) == []
    )
    assert [leads for _, leads, _ in fake.requests] == [[3]]  # exactly once
    tokens = len([c for c in fake.calls if c[0] == "token"])
    assert tokens == (2 if code in ("601", "602") else 1)  # a fresh token after 601/602
    waits = {"601": [], "602": [], "606": [20.0], "615": [1.0]}  # Marketo's or the backoff
    assert slept == waits.get(str(code), [0.01])


async def test_607_gives_up_at_once_and_later_calls_wait_for_the_reset(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    metrics = WorkerMetrics.create()
    fake.failures = ["607"]
    marketo = sink(session, base, metrics)
    [failed] = await marketo.deliver([effect("marketo_list", 3, 1001)])
    assert failed.reason == "sink_failed"  # retriable after midnight: a redrive delivers it
    [again] = await marketo.deliver([effect("marketo_list", 4, 1001)])
    assert "quota" in again.detail
    assert len([c for c in fake.calls if c[0] == "add_to_list"]) == 1  # the quota held the second


async def test_refused_credentials_and_unknown_tenants_fail_without_retrying(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    fake, base = fake_marketo
    client = MarketoClient(session, instance(base, secret="wrong"))
    with pytest.raises(MarketoRejected, match="client credentials"):
        await client.add_to_list(1001, [1])
    metrics = WorkerMetrics.create()
    marketo = MarketoSink({MUNCHKIN: client}, metrics, no_wait)
    stranger = Effect("marketo_list", "k", SOURCE, "999-NOP-999", 1, (1001,))
    failed: Sequence[object] = await marketo.deliver([effect("marketo_list", 1, 1001), stranger])
    assert [f.reason for f in failed] == ["sink_refused", "sink_refused"]  # type: ignore[attr-defined]
    assert len(fake.calls) == 2


async def test_calls_of_one_flush_share_the_instance_limiter(
    fake_marketo: tuple[FakeMarketo, str], session: aiohttp.ClientSession
) -> None:
    _, base = fake_marketo
    client = MarketoClient(session, instance(base))
    marketo = MarketoSink({MUNCHKIN: client}, WorkerMetrics.create(), no_wait)
    targets = [effect("marketo_program", 1, p, "s") for p in range(20)]
    await asyncio.gather(marketo.deliver(targets[:10]), marketo.deliver(targets[10:]))
    assert client.limiter.calls_today == 20  # every call counted against the daily share
