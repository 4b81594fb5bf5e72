"""``datastreams bench``: arguments → ``BenchSettings`` → one run → table, JSON and PNG."""

import argparse
import asyncio
import signal
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from pipeline.logs import configure_logging
from tools.bench import report
from tools.bench.run import Bench
from tools.bench.settings import BenchSettings, smoke
from tools.bench.workload import SHAPES
from tools.simulate.settings import SimulatorConfigError, require_loopback

HELP = (
    "Ceiling A (ProducerPerformance), ceiling B (raw aiokafka), the ingress end to end, the"
    " express sample and @platformatic/kafka-hooks under the same closed-loop (wrk) and open-loop"
    " load, on one broker, in one run; per CPU-second of each system's own processes."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bootstrap", required=True, help="a running Kafka on 127.0.0.1 (host:port)")
    p.add_argument(
        "--out",
        type=Path,
        help="report directory (default: var/bench, with --only-workers var/bench-workers)",
    )
    p.add_argument("--smoke", action="store_true", help="a short run proving it works (CI)")
    p.add_argument(
        "--shapes", default=",".join(s.name for s in SHAPES), help="comma-separated shapes"
    )
    p.add_argument("--no-express", action="store_true", help="skip Adobe's express sample")
    p.add_argument(
        "--no-kafka-hooks", action="store_true", help="skip @platformatic/kafka-hooks (the peer)"
    )
    phase = p.add_mutually_exclusive_group()
    phase.add_argument("--no-workers", action="store_true", help="skip the workers' throughput")
    phase.add_argument(
        "--only-workers",
        action="store_true",
        help="the workers' throughput alone (no ceilings, ingress, express or kafka-hooks)",
    )
    p.add_argument("--profile", action="store_true", help="py-spy the ingress (one extra step)")
    p.add_argument(
        "--processes", type=int, default=1, help="the ingress' server.processes (default 1)"
    )


def settings_from(args: argparse.Namespace) -> BenchSettings:
    require_loopback(f"http://{args.bootstrap}", "--bootstrap")
    names = tuple(n.strip() for n in args.shapes.split(",") if n.strip())
    unknown = sorted(set(names) - {s.name for s in SHAPES})
    if unknown or not names:
        valid = [s.name for s in SHAPES]
        raise SimulatorConfigError(f"--shapes {unknown or names}: valid shapes are {valid}")
    out = args.out or Path("var/bench-workers" if args.only_workers else "var/bench")
    settings = BenchSettings(
        bootstrap=args.bootstrap,
        out_dir=out,
        shapes=names,
        express=not args.no_express,
        kafka_hooks=not args.no_kafka_hooks,
        profile=args.profile,
        workers=not args.no_workers,
        processes=args.processes,
        only_workers=args.only_workers,
    )
    return smoke(settings) if args.smoke else replace(settings)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM as Ctrl-C: the targets and generators are stopped


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    configure_logging(env.get("DATASTREAMS_LOG_LEVEL", "INFO").upper())
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        settings = settings_from(args)
    except SimulatorConfigError as exc:
        print(f"datastreams bench: {exc}", file=sys.stderr)
        return 2
    result = asyncio.run(Bench(settings, env, report=lambda line: print(line, flush=True)).run())
    print()
    print(report.table(result))
    json_path, png_path = report.write(result, settings.out_dir)
    print(f"\nreport: {json_path}\nplot:   {png_path}")
    measured = result.workers if settings.only_workers else result.runs
    return 1 if result.problems or not measured else 0
