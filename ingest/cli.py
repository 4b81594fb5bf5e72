"""The ``datastreams`` command. The only place that reads the environment and sets up logging."""

import argparse
import asyncio
import logging
import os
import signal
import sys

from ingest.server import serve
from ingest.settings import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.tail import run_tail

log = logging.getLogger("datastreams")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))


async def run_ingress(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await serve(settings, stop.wait())


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
    args = parser.parse_args(argv)
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
    elif args.command == "tail":
        return run_tail(settings.kafka.bootstrap_servers, args.topic, args.max, args.idle)
    return 0
