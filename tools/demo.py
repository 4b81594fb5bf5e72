"""``make demo``: the ingress (and the workers, once ``datastreams worker`` exists) fed by the
simulator for about a minute, printing what flows where.

    simulator ──direct push──► /v1/lead-activity ─┐
              ──Adobe I/O────► /v1/adobe-io ──────┴► ingress ──► Kafka topics ──► workers

Run: ``python -m tools.demo --bootstrap 127.0.0.1:PORT [--seconds 60]`` (the Makefile starts a
broker for it). Everything listens on 127.0.0.1 only.
"""

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from pipeline.settings import TopicSettings
from pipeline.topics import build_topics
from tools.bench.targets import Ingress
from tools.process import Child, free_port
from tools.simulate.tenants import IngressConfig, ingress_toml, make_tenants

TENANTS = 4
SEED = 42
SHOW_EVERY_S = 5.0


def worker_kinds(env: Mapping[str, str]) -> list[str]:
    """The kinds ``datastreams worker {kind,...}`` offers; none while it does not exist."""
    probe = subprocess.run(
        [sys.executable, "-m", "ingest", "worker", "--help"],
        capture_output=True,
        text=True,
        env=dict(env),
        check=False,
    )
    choices = re.search(r"\{([a-z0-9_,-]+)\}", probe.stdout)
    if probe.returncode != 0:
        return []
    return choices.group(1).split(",") if choices else [""]


async def topic_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        parts = {n: await partitions_of(admin, n) for n in names}
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(n, p) for n, ps in parts.items() for p in ps]
        ends = await consumer.end_offsets(tps) if tps else {}
    finally:
        await consumer.stop()
    return {n: sum(v for tp, v in ends.items() if tp.topic == n) for n in names}


async def show_flow(bootstrap: str, names: list[str], stop: asyncio.Event) -> None:
    last: dict[str, int] = {}
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SHOW_EVERY_S)
        counts = await topic_counts(bootstrap, names)
        parts = [
            f"{n.rsplit('.', 1)[1]} {c:,} (+{c - last.get(n, 0):,})" for n, c in counts.items()
        ]
        print("  kafka: " + " | ".join(parts), flush=True)
        last = counts


async def demo(
    bootstrap: str, seconds: float, out: Path, env: Mapping[str, str], kinds: list[str]
) -> tuple[int, dict[str, int]]:
    tenants = make_tenants(TENANTS, SEED)
    prefix = f"demo-{uuid.uuid4().hex[:6]}"
    key_port, port = free_port(), free_port()
    config = IngressConfig(port, bootstrap, prefix, f"http://127.0.0.1:{key_port}")
    (out / "ingress.toml").write_text(ingress_toml(config, tenants), "utf-8")
    names = [t.name for t in build_topics(TopicSettings(prefix=prefix), 1).all()]
    ingress = Ingress(port, out / "ingress.log", out / "ingress.toml", env)
    print(f"ingress  http://127.0.0.1:{port} -> Kafka {bootstrap}, topics {prefix}.*", flush=True)
    await ingress.start()
    worker_env = {
        **env,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATASTREAMS_TOPIC_PREFIX": prefix,
        "DATASTREAMS_LOG_LEVEL": "INFO",
    }
    workers = [await start_worker(kind, worker_env, out) for kind in kinds]
    print(f"workers  {', '.join(kinds) or 'none yet'} (logs: {out}/worker-*.log)", flush=True)
    print(f"simulator {TENANTS} tenants, direct push + Adobe I/O, {seconds:g} s", flush=True)
    stop = asyncio.Event()
    flow = asyncio.create_task(show_flow(bootstrap, names, stop))
    try:
        code = await simulate(port, key_port, seconds, out)
    finally:
        stop.set()
        await flow
        try:
            for worker in workers:
                await worker.stop()
        finally:
            await ingress.stop()
    return code, await topic_counts(bootstrap, names)


async def start_worker(kind: str, env: Mapping[str, str], out: Path) -> Child:
    env = {**env, "DATASTREAMS_WORKER_PORT": str(free_port())}
    log = out / f"worker-{kind or 'all'}.log"
    worker = Child.datastreams(f"worker {kind}", ["worker", *([kind] if kind else [])], env, log)
    await worker.spawn()
    return worker


async def simulate(port: int, key_port: int, seconds: float, out: Path) -> int:
    argv = [
        sys.executable, "-m", "ingest", "simulate",
        "--url", f"http://127.0.0.1:{port}", "--key-port", str(key_port),
        "--tenants", str(TENANTS), "--seed", str(SEED), "--duration", str(seconds),
        "--duplicates", "0.01", "--malformed", "0.005", "--drain", "5",
        "--ack-file", str(out / "acks.jsonl"),
    ]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(*argv)
    return await proc.wait()


def summary(counts: dict[str, int], out: Path) -> None:
    names = list(counts)
    acks = [orjson.loads(line) for line in (out / "acks.jsonl").read_bytes().splitlines()]
    print("\nwhat flowed where (acknowledged by the ingress -> records on Kafka):")
    for name in names:
        short = name.rsplit(".", 1)[1]
        acked = sum(1 for a in acks if a["topic"] == short)
        print(f"  {short:<14} acknowledged {acked:>8,}   on {name:<28} {counts[name]:>8,}")
    for log in sorted(out.glob("worker-*.log")):
        lines = log.read_text("utf-8", "replace").strip().splitlines()
        print(f"  {log.stem:<14} {lines[-1].split(': ', 1)[-1] if lines else '(no output)'}")
    print(f"\nlook at them: .venv/bin/datastreams tail {names[0]} --max 3")
    print(f"files: {out}/ (ingress.toml, ingress.log, worker-*.log, acks.jsonl)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=Path("var/demo"))
    args = parser.parse_args()
    env = dict(os.environ)  # an entrypoint: the children inherit the environment
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("worker-*.log"):
        old.unlink()
    kinds = worker_kinds(env)
    code, counts = asyncio.run(demo(args.bootstrap, args.seconds, args.out, env, kinds))
    summary(counts, args.out)
    sys.exit(code)


if __name__ == "__main__":
    main()
