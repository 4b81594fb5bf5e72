"""``datastreams ingress``: the HTTP ingress until SIGTERM or SIGINT."""

import argparse
import logging
from collections.abc import Mapping

from ingest.commands.settings import settings_or_exit_code
from ingest.server import serve
from ingest.supervisor import Supervisor
from pipeline.runtime import serve_until_signalled

HELP = (
    "run the HTTP ingress (config: DATASTREAMS_CONFIG, DATASTREAMS_HOST/PORT/PROCESSES, "
    "KAFKA_BOOTSTRAP_SERVERS)"
)
log = logging.getLogger("datastreams")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ingress takes its configuration from the environment and its file only."""


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    settings = settings_or_exit_code(env)
    if isinstance(settings, int):
        return settings
    if not settings.tenants:
        log.warning("no [[tenants]] configured: every delivery will be refused")
    if not settings.adobe_io.verify_signatures:
        log.warning("Adobe I/O signature verification is OFF: rely on mTLS at the edge")
    if settings.server.processes > 1:
        return Supervisor(settings).run()
    serve_until_signalled(lambda stop: serve(settings, stop))
    return 0
