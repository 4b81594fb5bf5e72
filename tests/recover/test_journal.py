"""``datastreams journal`` against the simulator's journal and the real broker: 410 reset by
policy and counted, an expired token, 429/5xx, a follow that waits on 204 and stops, the gate
refusing what the registration must not deliver, and the journal's own page limits."""

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import aiohttp

from ingest.recover.journal import JournalClient
from ingest.recover.journal_run import JournalStart
from ingest.recover.settings import OnExpired
from tests.pipeline.workers.harness import read_topic
from tests.recover.conftest import (
    Upstreams,
    generate,
    recovery_context,
    run_journal,
    sim_tenants,
)
from tools.simulate.events import EventFactory
from tools.simulate.journal_api import MAX_PAGE_BYTES
from tools.simulate.upstream import JournalEntry


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def fill(ups: Upstreams, count: int, seed: int = 3) -> list[str]:
    return generate(ups, count, "adobe-io", seed)


async def ids_on(ctx: Any) -> set[str]:
    found = set()
    for topic in ctx.topics.all():
        for r in await read_topic(ctx.settings.kafka.bootstrap_servers, topic.name):
            found.add(dict(r.headers)["ce_id"].decode())
    return found


async def test_an_expired_cursor_is_counted_and_reset_by_policy(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    clock = Clock()
    ups = await upstreams(sim_tenants(), retention_s=100.0, clock=clock)
    old = fill(ups, 5)
    clock.now += 200  # the first five expire
    new = fill(ups, 5, seed=4)
    ctx = recovery_context(kafka_bootstrap, ups)
    registration = ctx.settings.journal[0]
    report = await run_journal(ctx, registration, JournalStart(since="pos-2"))
    assert report.expired == 1
    assert set(report.tally.ids) == set(new)  # restarted at the oldest event kept
    assert not set(old) & await ids_on(ctx)
    expired = ctx.metrics.journal_expired.labels(registration.name)._value.get()
    assert expired == 1

    latest = ctx.settings.journal[1]
    ups.upstream.journals[latest.client_id].entries.extend(
        ups.upstream.journals[registration.client_id].entries[:1]
    )
    clock.now += 200
    policy = replace(latest, on_expired=OnExpired.LATEST)
    jumped = await run_journal(ctx, policy, JournalStart(since="pos-0"))
    assert (jumped.expired, jumped.tally.published) == (1, 0)  # at the end: nothing read


async def test_an_expired_token_and_upstream_errors_are_survived(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups = await upstreams(sim_tenants())
    ids = fill(ups, 30)
    ctx = recovery_context(kafka_bootstrap, ups)
    registration = ctx.settings.journal[0]
    # pages of 10; the token is revoked after the first page, then a 503 and a 429 follow
    registration = replace(registration, limit=10)
    journal = ups.apis.journal
    journal.faults.extend([503, 429])
    revoke = asyncio.get_running_loop().call_later(0.05, journal.tokens.clear)
    report = await run_journal(ctx, registration, JournalStart(seek="-PT1H"))
    revoke.cancel()
    assert set(report.tally.ids) == set(ids)
    assert report.caught_up
    statuses = {
        s.labels["status"]
        for s in next(iter(ctx.metrics.journal_requests.collect())).samples
        if s.name.endswith("_total")
    }
    assert {"200", "204"} <= statuses


async def test_the_gate_refuses_events_the_registration_does_not_hold(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups = await upstreams(sim_tenants())
    ours, other = ups.tenants
    factory = EventFactory(random.Random(5), ups.tenants, lambda: datetime.now(UTC), 50)
    foreign = factory.lead_activity(other)  # another instance's event in our journal
    foreign.doc["recipientclientid"] = ours.client_id
    misdelivered = factory.lead_activity(ours)  # ours, but addressed to another client
    misdelivered.doc["recipientclientid"] = other.client_id
    fine = factory.lead_activity(ours)
    journal = ups.upstream.journals[ours.client_id]
    for n, event in enumerate((foreign, misdelivered, fine), start=1):
        journal.entries.append(_entry(n, event.doc))
    ctx = recovery_context(kafka_bootstrap, ups)
    report = await run_journal(ctx, ctx.settings.journal[0], JournalStart(seek="-PT1H"))
    assert report.tally.refused == 2
    assert report.tally.ids == [fine.id]
    on_topics = await ids_on(ctx)
    assert fine.id in on_topics
    assert not {foreign.id, misdelivered.id} & on_topics


def _entry(seq: int, doc: Any) -> JournalEntry:
    return JournalEntry(seq, datetime.now(UTC).timestamp(), doc)


async def test_follow_waits_on_204_publishes_what_arrives_and_stops(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups = await upstreams(sim_tenants())
    ups.apis.journal.retry_after_s = 0
    ctx = recovery_context(kafka_bootstrap, ups)
    registration = ctx.settings.journal[0]
    stop = asyncio.Event()
    following = asyncio.create_task(
        run_journal(ctx, registration, JournalStart(follow=True), stop=stop)
    )
    await asyncio.sleep(1.0)  # at the end of an empty journal, polling
    ids = fill(ups, 12)
    async with asyncio.timeout(20):
        while True:  # polling: the topics offer no notification
            if set(ids) <= await ids_on(ctx):
                break
            await asyncio.sleep(0.2)
    stop.set()
    report = await asyncio.wait_for(following, 10)
    assert report.caught_up
    assert set(report.tally.ids) == set(ids)
    assert ctx.metrics.journal_lag.labels(registration.name)._value.get() == 0
    cursor = (await ctx.cursors.load("journal:"))[f"journal:{registration.name}"]
    assert cursor["position"] == report.position


async def test_pages_follow_next_links_within_the_limit_and_1_5_mb(upstreams: Any) -> None:
    ups = await upstreams(sim_tenants())
    fill(ups, 7)
    tenant = ups.tenants[0]
    big = {**ups.upstream.journals[tenant.client_id].entries[0].event, "padding": "x" * 600_000}
    ups.upstream.journals[tenant.client_id].entries.extend(_entry(100 + n, big) for n in range(4))
    registration = ups.journal(tenant, limit=5)
    async with aiohttp.ClientSession() as session:
        client = JournalClient(session, registration)
        url, sizes = client.start_url(seek="-PT1H"), []
        while True:
            status, page = await client.get(url)
            assert page is not None
            if status == 204:
                break
            sizes.append(len(page.entries))
            assert page.next_url is not None
            assert "limit=5" in page.next_url
            url = page.next_url
    assert sizes == [5, 4, 2]  # the limit, then no more than 1.5 MB (two 600 kB events)
    assert 2 * 600_000 < MAX_PAGE_BYTES < 3 * 600_000
    assert client.token_fetches == 1
