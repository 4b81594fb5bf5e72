"""``datastreams tail``: print the records on a topic, from the beginning."""

import argparse
from collections.abc import Mapping

from ingest.commands.settings import settings_or_exit_code
from pipeline.tail import run_tail

HELP = "print the records on a topic, from the beginning"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", help="e.g. marketo.lead-activity")
    parser.add_argument("--max", type=int, default=100, help="stop after this many records")
    parser.add_argument("--idle", type=float, default=2.0, help="stop after this many idle seconds")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    return run_tail(settings.kafka, args.topic, args.max, args.idle)
