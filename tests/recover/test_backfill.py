"""``datastreams backfill marketo`` against the simulator's Marketo and the real broker: a run
killed between a page's events and its cursor resumes with no gap and nothing twice; Marketo's
607 and this process' own quota share stop a run that a later one finishes; expired tokens and
the concurrency limit are retried; a long range goes through the bulk extract."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.publish import Publisher
from pipeline.topics import OutboundRecord
from tests.pipeline.workers.harness import read_topic
from tests.recover.conftest import (
    FAST,
    generate,
    prepared,
    recovery_context,
    run_backfill,
    sim_tenants,
)
from tools.simulate.upstream import DELETE_LEAD


class Killed(Exception):
    """Stands for SIGKILL: the process is gone, whatever it was doing."""


class DiesBeforeCursor:
    """A publisher that dies after ``pages`` cursors, once the next page's events are acked."""

    def __init__(self, publisher: Publisher, pages: int) -> None:
        self.publisher = publisher
        self.left = pages

    async def publish(self, records: list[OutboundRecord]) -> None:
        if records and records[0].topic.endswith("recovery-cursors"):
            if self.left == 0:
                raise Killed
            self.left -= 1
        await self.publisher.publish(records)


async def counts_on(ctx: Any) -> dict[str, int]:
    found: dict[str, int] = {}
    for r in await read_topic(ctx.settings.kafka.bootstrap_servers, ctx.topics.lead_activity.name):
        event_id = dict(r.headers)["ce_id"].decode()
        found[event_id] = found.get(event_id, 0) + 1
    return found


SINCE = timedelta(minutes=5)


async def test_a_backfill_killed_midway_resumes_from_its_cursor(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups, ids, ctx = await prepared(kafka_bootstrap, upstreams, 700, "direct-push")
    instance, since = ctx.settings.marketo[0], datetime.now(UTC) - SINCE
    try:
        await run_backfill(ctx, instance, since, publisher_of=lambda p: DiesBeforeCursor(p, 4))
        raise AssertionError("the run was not killed")
    except Killed:
        pass
    first = await counts_on(ctx)
    assert 0 < len(first) < len(ids)
    calls = ups.apis.marketo.calls[instance.munchkin_id]
    resumed = await run_backfill(ctx, instance, since)
    assert not resumed.quota_exhausted
    on_topic = await counts_on(ctx)
    assert set(on_topic) == set(ids)  # no gap
    assert set(on_topic.values()) == {1}  # nothing twice
    assert resumed.tally.present >= 1  # the killed page's events were on Kafka already
    full = await run_backfill(ctx, instance, since - timedelta(seconds=1), skip_present=False)
    assert resumed.pages < full.pages  # it did not start over
    assert ups.apis.marketo.calls[instance.munchkin_id] > calls


async def test_quota_exhaustion_stops_with_the_cursor_kept(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups, ids, ctx = await prepared(kafka_bootstrap, upstreams, 400, "direct-push")
    since = datetime.now(UTC) - SINCE
    ups.apis.marketo.daily_quota = 6  # Marketo's 607 after six calls
    instance = ctx.settings.marketo[0]
    stopped = await run_backfill(ctx, instance, since)
    assert stopped.quota_exhausted
    assert ctx.metrics.quota_used.labels(instance.munchkin_id)._value.get() == 1.0
    # this process' share is spent too (2 of 4 calls): it stops before Marketo has to say so
    shared = replace(instance, daily_quota=4, quota_share=0.5)
    ups.apis.marketo.daily_quota = 50_000
    calls = ups.apis.marketo.calls[instance.munchkin_id]
    guarded = await run_backfill(ctx, shared, since)
    assert guarded.quota_exhausted
    assert ups.apis.marketo.calls[instance.munchkin_id] - calls == 2
    done = await run_backfill(ctx, instance, since)
    assert not done.quota_exhausted
    assert set(await counts_on(ctx)) == set(ids)


async def test_expired_tokens_and_the_concurrency_limit_are_retried(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups, ids, ctx = await prepared(kafka_bootstrap, upstreams, 100, "direct-push")
    ups.apis.marketo.faults.extend(["602", "615", "601", "503"])
    report = await run_backfill(ctx, ctx.settings.marketo[0], datetime.now(UTC) - SINCE)
    assert not ups.apis.marketo.faults
    assert ups.apis.marketo.token_grants >= 3  # the first, then after 602 and 601
    assert set(report.tally.ids) == set(ids)


async def test_a_long_range_goes_through_the_bulk_extract(
    kafka_bootstrap: str, upstreams: Any
) -> None:
    ups = await upstreams(sim_tenants())
    ids = generate(ups, 350, "direct-push", 7)
    recovery = replace(FAST, bulk_after_s=60.0)
    ctx = recovery_context(kafka_bootstrap, ups, recovery=recovery)
    report = await run_backfill(ctx, ctx.settings.marketo[0], datetime.now(UTC) - SINCE)
    assert ups.apis.marketo.bulk.jobs  # not paged
    assert set(report.tally.ids) == set(ids)
    deleted = [e for e in ups.upstream.generated if e.doc["activityTypeId"] == DELETE_LEAD]
    assert {e.id for e in deleted} <= set(report.tally.ids)  # the export has deleted leads too
