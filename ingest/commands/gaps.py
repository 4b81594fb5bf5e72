"""``datastreams gaps``: per tenant and stream, the periods with no event on the topics longer
than a threshold, each with the command that recovers it (``ingest/recover/gaps.py``)."""

import argparse
import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from ingest.commands.settings import settings_or_exit_code
from ingest.recover.gaps import commands, event_times, find_gaps
from ingest.settings import Settings
from pipeline.envelope import format_time
from pipeline.topics import build_topics

HELP = "list the periods with no events per tenant and stream, with their recovery commands"


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=_time, help="window start (default: 7 days ago)")
    parser.add_argument("--until", type=_time, help="window end (default: now)")
    parser.add_argument(
        "--threshold", type=float, default=60.0, help="minutes of silence that make a gap (60)"
    )
    parser.add_argument("--tenant", help="only this munchkin ID")


def registrations_by_tenant(settings: Settings) -> dict[str, str]:
    by_client = {r.client_id: r.name for r in settings.journal}
    return {
        t.munchkin_id: by_client[t.adobe_client_id]
        for t in settings.tenants
        if t.adobe_client_id in by_client
    }


async def _main(settings: Settings, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    until = args.until or now
    since = args.since or until - timedelta(days=7)
    tenants = [t.munchkin_id for t in settings.tenants if args.tenant in (None, t.munchkin_id)]
    topics = build_topics(settings.topics, settings.kafka.max_record_bytes)
    times = await event_times(settings.kafka, topics, tenants, since)
    gaps = find_gaps(times, since, until, timedelta(minutes=args.threshold))
    journals = registrations_by_tenant(settings)
    instances = [m.munchkin_id for m in settings.marketo]
    print(f"{len(gaps)} gap(s) longer than {args.threshold:g} min from {format_time(since)}")
    for gap in gaps:
        minutes = gap.length.total_seconds() / 60
        print(
            f"{gap.tenant} {gap.stream}: {format_time(gap.start)} .. {format_time(gap.end)} "
            f"({minutes:.0f} min)"
        )
        found = commands(gap, journals, instances, now)
        for command in found or ["no recovery path: configure a [[journal]] or [[marketo]]"]:
            print(f"    {command}")
    return 0


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    return asyncio.run(_main(settings, args))
