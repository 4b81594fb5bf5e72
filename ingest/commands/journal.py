"""``datastreams journal``: Adobe I/O events pulled from each registration's journal into Kafka,
either continuously (``--follow``, instead of the webhook) or once up to the journal's end (a
backfill from the stored cursor, ``--seek`` or ``--since``)."""

import argparse
import asyncio
import logging
import signal
from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp
from prometheus_client import start_http_server

from ingest.commands.settings import settings_or_exit_code
from ingest.gate import Principal
from ingest.recover.context import Context
from ingest.recover.durations import as_seek, parse_seek
from ingest.recover.errors import UpstreamRefused
from ingest.recover.journal import JournalClient
from ingest.recover.journal_run import JournalReport, JournalRun, JournalStart, cursor_key
from ingest.recover.settings import JournalRegistration
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)

HELP = "pull Adobe I/O events from the registrations' journals into Kafka"
JOURNAL_KEEPS_S = 7 * 86400.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registration", help="a [[journal]] name (default: all of them)")
    parser.add_argument("--follow", action="store_true", help="keep pulling (replaces the webhook)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--seek", help="start this far back, e.g. --seek=-PT30H (ISO 8601 duration)")
    start.add_argument("--since", help="start after this journal position, or at this time")
    parser.add_argument(
        "--all",
        dest="skip_present",
        action="store_false",
        help="publish events already on the topics too (default: skip them)",
    )


def _start(args: argparse.Namespace) -> JournalStart | str:
    seek, since = args.seek, args.since
    if seek and parse_seek(seek) is None:
        return f"--seek {seek!r} is not a negative ISO 8601 duration such as -PT30H"
    if since:
        try:
            moment = datetime.fromisoformat(since)
        except ValueError:
            moment = None  # a journal position
        if moment is not None:
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            seek, since = as_seek(datetime.now(UTC) - moment), None
    return JournalStart(since=since, seek=seek, follow=args.follow)


def _presence_since(start: JournalStart, stored: Mapping[str, str] | None, now: float) -> float:
    """From when the topics are read for what is already there."""
    if start.seek:
        back = parse_seek(start.seek)
        return now - (back.total_seconds() if back else JOURNAL_KEEPS_S)
    time = (stored or {}).get("time")
    if time and not start.since:
        return datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp()
    return now - JOURNAL_KEEPS_S


async def _one(
    ctx: Context,
    registration: JournalRegistration,
    start: JournalStart,
    skip_present: bool,
    stop: asyncio.Event,
) -> JournalReport:
    tenants = ctx.admission.directory.munchkins_by_client[registration.client_id]
    principal = Principal.adobe(registration.client_id, tenants)
    stored = (await ctx.cursors.load(cursor_key(registration.name))).get(
        cursor_key(registration.name)
    )
    first_run_follow = start.follow and not (start.seek or start.since or stored)
    async with ctx.publisher() as publisher, aiohttp.ClientSession() as session:
        since = None
        if skip_present and not first_run_follow:
            since = _presence_since(start, stored, datetime.now(UTC).timestamp())
        run = JournalRun(
            client=JournalClient(session, registration),
            principal=principal,
            sink=await ctx.sink(publisher, since),
            cursors=ctx.cursors,
            limits=ctx.admission.limits,
            metrics=ctx.metrics,
            backoff=ctx.backoff(forever=start.follow),
            max_retry_after_s=ctx.settings.recovery.max_retry_after_s,
            stop=stop,
        )
        return await run.run(start, stored)


async def _main(ctx: Context, chosen: list[JournalRegistration], args: argparse.Namespace) -> int:
    start = _start(args)
    if isinstance(start, str):
        print(f"datastreams journal: {start}")
        return 2
    stop = asyncio.Event()
    recovery = ctx.settings.recovery
    if args.follow:  # a bounded run ends by itself; a follower ends on SIGTERM, between pages
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        start_http_server(recovery.metrics_port, recovery.metrics_host, ctx.metrics.registry)
    runs = [_one(ctx, r, start, args.skip_present, stop) for r in chosen]
    results = await asyncio.gather(*runs, return_exceptions=True)
    code = 0
    for registration, result in zip(chosen, results, strict=True):
        if isinstance(result, JournalReport):
            print(result.line(registration.name))
        elif isinstance(result, UpstreamRefused | PipelineError):
            print(f"journal {registration.name}: failed: {result}")
            code = 1
        else:
            raise result
    ctx.metrics.push(recovery.pushgateway_url, {"command": "journal"})
    return code


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    chosen = [r for r in settings.journal if args.registration in (None, r.name)]
    if not chosen:
        print("datastreams journal: no [[journal]] registration matches; see docs/configuration.md")
        return 2
    return asyncio.run(_main(Context.of(settings), chosen, args))
