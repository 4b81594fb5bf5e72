"""``python -m tools.bench.scaling``: the ingress with one process and with several
(``server.processes``) under the same closed-loop load (``wrk``, ``tools.bench.closed``).

The process counts alternate within each round (1, 2, 1, 2, …), so that every count sees the
same minutes of a shared machine; the table gives each count's median over the rounds and the
spread (lowest to highest), as events per CPU-second of the ingress' whole process tree and
events per second of wall time. docs/deploying.md quotes it.
"""

import argparse
import asyncio
import os
import statistics
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from aiohttp import web

from pipeline.logs import configure_logging
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import build_topics
from tools.bench.ceilings import delete_topics
from tools.bench.closed import ClosedRun, closed_loop
from tools.bench.settings import FULL_CLOSED, BenchSettings
from tools.bench.targets import Ingress
from tools.bench.workload import SHAPES, Workload, write_pool
from tools.process import free_port
from tools.simulate.signing import KeyServer, SigningKey
from tools.simulate.tenants import IngressConfig, ingress_toml, make_tenants


async def measure(
    bootstrap: str,
    counts: list[int],
    shapes: list[str],
    rounds: int,
    seconds: float,
    out: Path,
    env: Mapping[str, str],
    connections: int = FULL_CLOSED.connections,
) -> list[ClosedRun]:
    base = BenchSettings(bootstrap=bootstrap, out_dir=out)
    keys = (SigningKey(), SigningKey())
    workload = Workload(make_tenants(base.tenants, base.seed), keys, 1)
    chosen = [shape for shape in SHAPES if shape.name in shapes]
    pools = {}
    for shape in chosen:
        pools[shape.name] = out / f"pool-{shape.name}.jsonl"
        write_pool(pools[shape.name], workload.pool(shape, base.pools.of(shape.name)))
    key_server = web.AppRunner(KeyServer(*keys).app, access_log=None)
    await key_server.setup()
    key_port = free_port()
    await web.TCPSite(key_server, "127.0.0.1", key_port).start()
    prefix = f"scaling-{uuid.uuid4().hex[:8]}"
    runs: list[ClosedRun] = []
    try:
        for round_number in range(rounds):
            for count in counts:
                port = free_port()
                config = out / "ingress.toml"
                ingress_config = IngressConfig(
                    port, bootstrap, prefix, f"http://127.0.0.1:{key_port}", base.partitions
                )
                config.write_text(ingress_toml(ingress_config, workload.tenants), "utf-8")
                target = Ingress(port, out / f"ingress-{count}.log", config, env, count)
                await target.start()
                try:
                    for shape in chosen:
                        run = await closed_loop(
                            pools[shape.name], target, shape, out,
                            connections=connections, seconds=seconds,
                            warmup_s=FULL_CLOSED.warmup_s,
                        )  # fmt: skip
                        run.target = f"processes={count}"
                        runs.append(run)
                        row = run.row()
                        print(
                            f"round {round_number + 1} {run.target} {shape.name}: "
                            f"{row['events_per_cpu_s']:,.0f} events/CPU-s, "
                            f"{row['events_per_s']:,.0f} events/s, CPU {row['cpu_percent']}%, "
                            f"failed {row['failed']}",
                            flush=True,
                        )
                finally:
                    await target.stop()
    finally:
        await key_server.cleanup()
        topics = build_topics(TopicSettings(prefix=prefix), KafkaSettings().max_record_bytes)
        await delete_topics(bootstrap, [t.name for t in topics.all()])
    return runs


def table(runs: list[ClosedRun]) -> str:
    lines = [
        "| shape | processes | events/CPU-s median (range) | events/s median (range) "
        "| CPU % median | rounds |",
        "|---|---|---|---|---|---|",
    ]
    keys = sorted({(r.shape.name, r.target) for r in runs})
    for shape, target in keys:
        rows = [r.row() for r in runs if (r.shape.name, r.target) == (shape, target)]
        per_cpu = [row["events_per_cpu_s"] for row in rows]
        wall = [row["events_per_s"] for row in rows]
        cpu = [row["cpu_percent"] for row in rows]
        lines.append(
            f"| {shape} | {target.partition('=')[2]} "
            f"| {statistics.median(per_cpu):,.0f} ({min(per_cpu):,.0f} to {max(per_cpu):,.0f}) "
            f"| {statistics.median(wall):,.0f} ({min(wall):,.0f} to {max(wall):,.0f}) "
            f"| {statistics.median(cpu):.0f} | {len(rows)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.scaling", description=__doc__)
    parser.add_argument("--bootstrap", required=True, help="a running Kafka on 127.0.0.1")
    parser.add_argument("--processes", default="1,2", help="comma-separated counts")
    parser.add_argument("--shapes", default="direct-push,adobe-single")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="each measured wrk run")
    parser.add_argument("--connections", type=int, default=FULL_CLOSED.connections)
    parser.add_argument("--out", type=Path, default=Path("var/bench-scaling"))
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    args.out.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in args.processes.split(",")]
    shapes = [s.strip() for s in args.shapes.split(",")]
    runs = asyncio.run(
        measure(
            args.bootstrap,
            counts,
            shapes,
            args.rounds,
            args.seconds,
            args.out,
            os.environ,
            args.connections,
        )
    )
    print(table(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
