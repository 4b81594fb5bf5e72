"""``datastreams backfill marketo``: a Marketo instance's activities over a time range, read from
its REST API and published as the direct push would have (``ingest/recover/backfill.py``)."""

import argparse
import asyncio
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import aiohttp

from ingest.commands.settings import settings_or_exit_code
from ingest.gate import Principal
from ingest.recover.backfill import Backfill, Part, catalog_of, estimated_calls, plan
from ingest.recover.context import Context
from ingest.recover.progress import Progress
from ingest.recover.scan import scan
from ingest.streams.rest_activity import ActivityCatalog
from pipeline.activity_types import standard_names
from pipeline.marketo.client import MarketoClient
from pipeline.marketo.errors import MarketoError
from pipeline.marketo.settings import MarketoInstance

HELP = "re-read a Marketo instance's activities from its REST API into Kafka"
QUOTA_SPENT = 75  # EX_TEMPFAIL: run the same command again after the quota resets


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", choices=("marketo",), help="the upstream to read back")
    parser.add_argument("--tenant", help="a [[marketo]] munchkin ID (default: all of them)")
    parser.add_argument("--since", type=_time, required=True, help="ISO 8601; UTC without zone")
    parser.add_argument("--until", type=_time, help="ISO 8601 (default: until Marketo's end)")
    parser.add_argument("--types", help="activity type ids, comma-separated (default: config)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and its cost")
    parser.add_argument(
        "--all",
        dest="skip_present",
        action="store_false",
        help="publish activities already on the topics too (default: skip them)",
    )


async def _activities_before(ctx: Context, munchkin: str, since: datetime, span: timedelta) -> int:
    """How many lead activities of the tenant the topic got in the span before ``since``: the
    dry run's estimate of what the range holds."""
    count = 0

    def visit(record: object) -> None:
        nonlocal count
        key = getattr(record, "key", None) or b""
        stamp = getattr(record, "timestamp", 0) / 1000
        if bytes(key).startswith(f"{munchkin}:".encode()) and stamp < since.timestamp():
            count += 1

    start_ms = int((since - span).timestamp() * 1000)
    await scan(ctx.settings.kafka, [ctx.topics.lead_activity.name], start_ms, visit)
    return count


async def _dry_run(
    ctx: Context, instance: MarketoInstance, parts: list[Part], since: datetime, until: datetime
) -> int:
    seen = await _activities_before(ctx, instance.munchkin_id, since, until - since)
    calls = estimated_calls(parts, seen)
    share = int(instance.daily_quota * instance.quota_share)
    print(f"backfill {instance.munchkin_id} (dry run): {since.isoformat()} to {until.isoformat()}")
    for part in parts:
        print(f"  {part.name}")
    print(
        f"  cost: about {calls} API calls ({calls / share:.1%} of this process' daily share of "
        f"{share}), estimated from {seen} lead activities on Kafka in the same span before it"
    )
    return 0


async def _one(ctx: Context, instance: MarketoInstance, args: argparse.Namespace) -> int:
    recovery = ctx.settings.recovery
    until = args.until
    end = until or datetime.now(UTC)
    type_ids = tuple(int(t) for t in args.types.split(",")) if args.types else None
    async with aiohttp.ClientSession() as session:
        client = MarketoClient(session, instance)
        if type_ids is None and not args.dry_run:
            type_ids = recovery.activity_type_ids or None
        catalog = ActivityCatalog()
        if not args.dry_run:
            catalog = await catalog_of(client, ctx.backoff(forever=False))
        ids = type_ids or tuple(catalog.names) or tuple(standard_names())
        parts = plan(ids, args.since, end, timedelta(seconds=recovery.bulk_after_s))
        if args.dry_run:
            return await _dry_run(ctx, instance, parts, args.since, end)
        async with ctx.publisher() as publisher:
            present = args.since.timestamp() if args.skip_present else None
            backfill = Backfill(
                client=client,
                principal=Principal.rest(instance.munchkin_id),
                sink=await ctx.sink(publisher, present),
                cursors=ctx.cursors,
                metrics=ctx.metrics,
                backoff=ctx.backoff(forever=False),
                progress=Progress(f"backfill {instance.munchkin_id}"),
                since=args.since,
                until=until,
                bulk_poll_s=recovery.bulk_poll_s,
                catalog=catalog,
            )
            stored = await ctx.cursors.load(f"marketo:{instance.munchkin_id}:")
            report = await backfill.run(parts, stored)
    print(report.line(instance.munchkin_id))
    return QUOTA_SPENT if report.quota_exhausted else 0


async def _main(ctx: Context, chosen: list[MarketoInstance], args: argparse.Namespace) -> int:
    code = 0
    for instance in chosen:
        try:
            code = max(code, await _one(ctx, instance, args))
        except MarketoError as exc:
            print(f"backfill {instance.munchkin_id}: failed: {exc}", file=sys.stderr)
            code = max(code, 1)
    ctx.metrics.push(ctx.settings.recovery.pushgateway_url, {"command": "backfill"})
    return code


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    chosen = [m for m in settings.marketo if args.tenant in (None, m.munchkin_id)]
    if not chosen:
        print("datastreams backfill: no [[marketo]] instance matches; see docs/configuration.md")
        return 2
    return asyncio.run(_main(Context.of(settings), chosen, args))
