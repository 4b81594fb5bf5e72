"""The ingress side's subcommands of ``datastreams``, one module each, imported only when chosen
(``ingest/cli.py``): each has ``add_arguments(parser)`` and ``run(args, env) -> exit code``."""
