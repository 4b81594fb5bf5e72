"""End to end, on the real broker: the simulator pushes while the ingress is down for longer than
the upstreams' horizons (time scaled), so the push drops events; the journal and the REST
backfill then restore exactly the missing ids; ``gaps`` finds the hole; a backfill run again
over everything (``--all``) makes the alerting worker see duplicates and fire nothing twice."""

import asyncio
import io
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.recover.context import Context
from ingest.recover.gaps import event_times, find_gaps
from ingest.recover.journal_run import JournalStart
from ingest.recover.sink import Tally
from tests.pipeline.workers.harness import read_topic, running, worker_settings
from tests.recover.conftest import (
    Upstreams,
    recovery_ingress,
    run_backfill,
    run_journal,
    sim_tenants,
)
from tests.support.ingress import Ingress, IngressFactory, Signer
from tools.simulate.run import Simulator
from tools.simulate.settings import AdobeIoSettings, DirectPushSettings, SimulatorSettings
from tools.simulate.upstream import DELETE_LEAD

SCALE = 0.01  # 100 upstream seconds a real second
OUTAGE_S = 2.0  # real seconds: longer than both horizons below


def horizons() -> dict[str, Any]:
    """Upstream seconds: Adobe gives up after 120 s, the push keeps 150 s (1.2 s and 1.5 s)."""
    adobe = replace(
        AdobeIoSettings(),
        retry_waits_s=(20.0, 40.0),
        retry_wait_after_s=60.0,
        retry_window_s=120.0,
        events_per_s=30.0,
    )
    push = replace(DirectPushSettings(), retry_wait_s=30.0, reenable_wait_s=30.0, retention_s=150.0)
    return {"adobe": adobe, "push": push}


async def on_topics(ingress: Ingress) -> Counter[str]:
    ids: Counter[str] = Counter()
    for topic in ingress.topics.all():
        for r in await read_topic(ingress.bootstrap, topic.name):
            ids[dict(r.headers)["ce_id"].decode()] += 1
    return ids


def generated(ups: Upstreams) -> tuple[set[str], set[str]]:
    """The ids of every Adobe event (in the journals) and every direct-push activity."""
    adobe = {e.id for e in ups.upstream.generated if e.adobe_event_id is not None}
    push = {e.id for e in ups.upstream.generated if e.adobe_event_id is None}
    return adobe, push


async def silences(ctx: Context, ups: Upstreams, since: datetime, until: datetime) -> list[Any]:
    tenants = [t.munchkin_id for t in ups.tenants]
    times = await event_times(ctx.settings.kafka, ctx.topics, tenants, since)
    return find_gaps(times, since, until, timedelta(seconds=1))


def deleted_leads(ups: Upstreams) -> set[str]:
    return {e.id for e in ups.upstream.generated if e.doc.get("activityTypeId") == DELETE_LEAD}


async def simulate_with_outage(
    ingress: Ingress, ups: Upstreams, signer: Signer, switch: Any
) -> Any:
    sw, url = await switch(str(ingress.client.make_url("")).rstrip("/"))
    settings = SimulatorSettings(
        url=url, tenants=2, seed=16, time_scale=SCALE, rate_per_s=120.0, leads=300,
        duration_s=1.0 + OUTAGE_S + 1.0, drain_s=4.0, **horizons(),
    )  # fmt: skip
    simulator = Simulator(
        settings, out=io.StringIO(), keys=(signer.first, signer.second), upstream=ups.upstream
    )

    async def outage() -> None:
        await asyncio.sleep(1.0)
        sw.up = False
        await asyncio.sleep(OUTAGE_S)
        sw.up = True

    result, _ = await asyncio.gather(simulator.run(), outage())
    return result


async def journal_backfill(ctx: Context, seek: str) -> Tally:
    total = Tally()
    for registration in ctx.settings.journal:
        present = datetime.now(UTC).timestamp() - 600
        report = await run_journal(
            ctx, registration, JournalStart(seek=seek), present_since_s=present
        )
        assert report.caught_up
        total.add(report.tally)
    return total


async def rest_backfill(
    ctx: Context, since: datetime, *, skip_present: bool = True
) -> tuple[Tally, int]:
    total, pages = Tally(), 0
    for instance in ctx.settings.marketo:
        report = await run_backfill(ctx, instance, since, skip_present=skip_present)
        assert not report.quota_exhausted
        total.add(report.tally)
        pages += report.pages
    return total, pages


async def test_the_journal_and_the_backfill_restore_exactly_what_the_push_dropped(
    make_ingress: IngressFactory, upstreams: Any, signer: Signer, switch: Any
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    ups = await upstreams(sim_tenants())
    ingress = await recovery_ingress(make_ingress, ups)
    result = await simulate_with_outage(ingress, ups, signer, switch)
    adobe_ids, push_ids = generated(ups)
    before = await on_topics(ingress)
    lost_adobe, lost_push = adobe_ids - set(before), push_ids - set(before)
    dropped = sum(p.dropped_events + p.expired_events for p in result.paths.values())
    assert lost_adobe
    assert lost_push, "the outage must outlast the push's retention"
    assert len(lost_adobe) + len(lost_push) == dropped

    ctx = Context.of(ingress.settings)
    ended = datetime.now(UTC)
    gaps = await silences(ctx, ups, started, ended)

    journal = await journal_backfill(ctx, "-PT120S")
    assert set(journal.ids) == lost_adobe  # exactly the missing ids, nothing else
    backfill, pages = await rest_backfill(ctx, started)
    assert set(backfill.ids) == lost_push
    after = await on_topics(ingress)
    assert adobe_ids | push_ids <= set(after)
    # A push activity's time is its activityDate, up to 5 s before it was made, which blurs a
    # 2-s hole: gaps are counted, and the recovery must not leave more of them.
    assert len(await silences(ctx, ups, started, ended)) <= len(gaps)
    assert max(after.values()) == 1  # nothing published twice
    print(
        f"\nrecovery counts: sent {len(adobe_ids) + len(push_ids)}, dropped from push {dropped} "
        f"(adobe {len(lost_adobe)}, direct push {len(lost_push)}), restored by journal "
        f"{journal.published}, by backfill {backfill.published} in {pages} pages, "
        f"gaps found {len(gaps)}"
    )

    # Everything again, overlapping what is there: the workers deduplicate it.
    prefix = ingress.topics.lead_activity.name.rsplit(".", 1)[0]
    alerting = worker_settings("alerting", ingress.bootstrap, prefix)
    async with running(alerting) as worker:
        await worker.wait_seen(sum(after.values()))
        # a new range (a new cursor: the first range's is done) with --all
        other_range = started - timedelta(seconds=1)
        again, _ = await rest_backfill(ctx, other_range, skip_present=False)
        overlap = again.published
        assert overlap >= len(push_ids - deleted_leads(ups))
        await worker.wait_seen(sum(after.values()) + overlap)
        assert worker.count("duplicate") >= overlap
    fired = await read_topic(ingress.bootstrap, f"{prefix}.alerts")
    alerts = Counter(dict(r.headers)["ce_id"].decode() for r in fired)
    assert not alerts or max(alerts.values()) == 1
    print(f"duplicates republished {overlap}, duplicate effects 0 ({sum(alerts.values())} alerts)")
