"""The ingress settings of a subcommand, read once from the process' environment."""

import sys
from collections.abc import Mapping

from ingest.settings import Settings, load_settings
from pipeline.errors import ConfigError
from pipeline.logs import configure_logging


def settings_or_exit_code(env: Mapping[str, str]) -> Settings | int:
    """The settings, with logging configured at their level; or 2 after printing why not."""
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        print(f"datastreams: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.server.log_level)
    return settings
