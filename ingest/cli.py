"""The ``datastreams`` command. The only place that reads the environment and sets up logging."""

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import UTC, datetime

from ingest.intake import Admission
from ingest.redrive import RedriveFilter, redrive
from ingest.server import serve
from ingest.settings import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.logs import configure_logging
from pipeline.runtime import tune_gc
from pipeline.tail import run_tail
from pipeline.topics import build_topics
from pipeline.workers.settings import KINDS, load_worker_settings
from tools.bench import cli as bench_cli
from tools.simulate import cli as simulate_cli

log = logging.getLogger("datastreams")


async def run_ingress(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tune_gc()
    await serve(settings, stop.wait())


async def run_worker(kind: str) -> int:
    from pipeline.workers.service import serve_worker

    try:
        settings = load_worker_settings(kind, os.environ)
    except ConfigError as exc:
        print(f"datastreams: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    tune_gc()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await serve_worker(settings, stop.wait())


def add_redrive_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    redrive = commands.add_parser(
        "redrive", help="re-publish dead-lettered events that today's code can normalize"
    )
    redrive.add_argument("--tenant", help="only this munchkin ID")
    redrive.add_argument("--reason", help="only this dead-letter reason, e.g. unknown_type")
    redrive.add_argument("--since", type=datetime.fromisoformat, help="received at or after")
    redrive.add_argument("--until", type=datetime.fromisoformat, help="received before")
    redrive.add_argument("--dry-run", action="store_true", help="report, publish nothing")


def run_redrive(settings: Settings, args: argparse.Namespace) -> int:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="datastreams", description="Receive Marketo Data Streams and publish them to Kafka."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "ingress",
        help="run the HTTP ingress (config: DATASTREAMS_CONFIG, DATASTREAMS_HOST/PORT, "
        "KAFKA_BOOTSTRAP_SERVERS)",
    )
    tail = commands.add_parser("tail", help="print the records on a topic, from the beginning")
    tail.add_argument("topic", help="e.g. marketo.lead-activity")
    tail.add_argument("--max", type=int, default=100, help="stop after this many records")
    tail.add_argument("--idle", type=float, default=2.0, help="stop after this many idle seconds")
    simulate_cli.add_parser(commands)
    bench_cli.add_parser(commands)
    worker = commands.add_parser(
        "worker",
        help="run a worker (config: DATASTREAMS_WORKER_CONFIG, DATASTREAMS_WORKER_PORT, "
        "KAFKA_BOOTSTRAP_SERVERS)",
    )
    worker.add_argument("kind", choices=KINDS)
    add_redrive_parser(commands)
    args = parser.parse_args(argv)
    if args.command == "worker":  # reads its own settings (DATASTREAMS_WORKER_CONFIG)
        return asyncio.run(run_worker(args.kind))
    if args.command in ("simulate", "bench"):  # developer tools: no ingress settings needed
        configure_logging(os.environ.get("DATASTREAMS_LOG_LEVEL", "INFO").upper())
        if args.command == "simulate":
            return simulate_cli.run(args, os.environ)
        return bench_cli.run(args, os.environ)
    try:
        settings = load_settings(os.environ)
    except ConfigError as exc:
        print(f"datastreams: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.server.log_level)
    if args.command == "ingress":
        if not settings.tenants:
            log.warning("no [[tenants]] configured: every delivery will be refused")
        if not settings.adobe_io.verify_signatures:
            log.warning("Adobe I/O signature verification is OFF: rely on mTLS at the edge")
        asyncio.run(run_ingress(settings))
    elif args.command == "redrive":
        return run_redrive(settings, args)
    elif args.command == "tail":
        return run_tail(settings.kafka, args.topic, args.max, args.idle)
    return 0
