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
    p.add_argument("--out", type=Path, default=Path("var/bench"), help="report directory")
    p.add_argument("--smoke", action="store_true", help="a short run proving it works (CI)")
    p.add_argument(
        "--shapes", default=",".join(s.name for s in SHAPES), help="comma-separated shapes"
    )
    p.add_argument("--no-express", action="store_true", help="skip Adobe's express sample")
    p.add_argument(
        "--no-kafka-hooks", action="store_true", help="skip @platformatic/kafka-hooks (the peer)"
    )
    p.add_argument("--no-workers", action="store_true", help="skip the workers' throughput")
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
    settings = BenchSettings(
        bootstrap=args.bootstrap,
        out_dir=args.out,
        shapes=names,
        express=not args.no_express,
        kafka_hooks=not args.no_kafka_hooks,
        profile=args.profile,
        workers=not args.no_workers,
        processes=args.processes,
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
    return 1 if result.problems or not result.runs else 0
