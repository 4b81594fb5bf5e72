"""``datastreams worker <kind>``: one worker until SIGTERM or SIGINT."""

import argparse
import sys
from collections.abc import Mapping

from pipeline.errors import ConfigError
from pipeline.logs import configure_logging
from pipeline.runtime import serve_until_signalled
from pipeline.workers.settings import KINDS, WorkerSettings, load_worker_settings

HELP = (
    "run a worker (config: DATASTREAMS_WORKER_CONFIG, DATASTREAMS_WORKER_PORT, "
    "KAFKA_BOOTSTRAP_SERVERS)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS)


def settings_or_exit_code(kind: str, env: Mapping[str, str]) -> WorkerSettings | int:
    """A worker kind's settings, with logging configured at their level; or 2 after printing
    why not."""
    try:
        settings = load_worker_settings(kind, env)
    except ConfigError as exc:
        print(f"datastreams: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    return settings


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from pipeline.workers.service import serve_worker

    settings = settings_or_exit_code(args.kind, env)
    if isinstance(settings, int):
        return settings
    return serve_until_signalled(lambda stop: serve_worker(settings, stop))
