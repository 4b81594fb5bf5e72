"""The ``datastreams`` command: a dispatcher.

Each subcommand lives in a module of its own, named here and imported only when chosen, so the
ingress process loads nothing of the workers or of the developer tools (a test checks it). Each
module has ``HELP``, ``add_arguments(parser)`` and ``run(args, env) -> exit code``; ``main`` is
the only place that reads the process environment, and hands it down.
"""

import argparse
import importlib
import os
import sys
from types import ModuleType

COMMANDS = {
    "ingress": "ingest.commands.ingress",
    "redrive": "ingest.commands.redrive",
    "tail": "ingest.commands.tail",
    "journal": "ingest.commands.journal",
    "backfill": "ingest.commands.backfill",
    "gaps": "ingest.commands.gaps",
    "worker": "pipeline.workers.command",
    "redrive-effects": "pipeline.workers.effects.redrive",
    "simulate": "tools.simulate.cli",
    "bench": "tools.bench.cli",
}
# One line each for `datastreams --help`, without importing the subcommands.
SUMMARIES = {
    "ingress": "run the HTTP ingress",
    "redrive": "re-publish dead-lettered events that today's code admits",
    "tail": "print the records on a topic, from the beginning",
    "journal": "pull Adobe I/O events from the journal (follow, or backfill)",
    "backfill": "re-read Marketo activities from its REST API into Kafka",
    "gaps": "list the periods with no events, with their recovery commands",
    "worker": "run a worker (alerting or scoring)",
    "redrive-effects": "deliver again the worker effects that ran out of retries",
    "simulate": "push Marketo-like traffic to an ingress on 127.0.0.1 (developer tool)",
    "bench": "benchmark the ingress and the workers (developer tool)",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(COMMANDS[name])


def parser_for(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="datastreams", description="Receive Marketo Data Streams and publish them to Kafka."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name in COMMANDS:
        if name == chosen:
            module = _module(name)
            sub = commands.add_parser(name, help=SUMMARIES[name], description=module.HELP)
            module.add_arguments(sub)
        else:
            commands.add_parser(name, help=SUMMARIES[name])
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser_for(argv).parse_args(argv)
    code: int = _module(args.command).run(args, os.environ)
    return code
