"""``datastreams redrive``: re-publish the dead letters that today's code admits."""

import argparse
import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime

from ingest.commands.settings import settings_or_exit_code
from ingest.intake import Admission
from ingest.redrive import RedriveFilter, redrive
from pipeline.topics import build_topics

HELP = "re-publish dead-lettered events that today's code can normalize"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", help="only this munchkin ID")
    parser.add_argument("--reason", help="only this dead-letter reason, e.g. unknown_type")
    parser.add_argument("--since", type=datetime.fromisoformat, help="received at or after")
    parser.add_argument("--until", type=datetime.fromisoformat, help="received before")
    parser.add_argument("--dry-run", action="store_true", help="report, publish nothing")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    chosen = RedriveFilter(
        munchkin_id=args.tenant,
        reason=args.reason,
        since=_utc(args.since),
        until=_utc(args.until),
    )
    topics = build_topics(settings.topics, settings.kafka.max_record_bytes)
    admission = Admission.of(settings.tenants, settings.server)
    report = asyncio.run(redrive(settings.kafka, topics, admission, chosen, dry_run=args.dry_run))
    print(("dry run: " if args.dry_run else "") + report.line())
    return 0


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=UTC)
