"""The rig of the load-balancer scenarios: three ingress replicas on one broker behind a real
HAProxy (the shipped configuration), the simulator sending through the balancer, and one
replica of each worker consuming.

    simulator ──► HAProxy ──► 3 ingress replicas ──► Kafka ──► alerting, scoring
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tools.chaos.downstream import Workers, with_effects
from tools.chaos.haproxy import SERVERS, Balancer, BalancerSpec
from tools.chaos.ingress import IngressProcess, IngressSpec
from tools.chaos.load import ADOBE_TIMEOUT_S, Load, tenants
from tools.chaos.scenarios.common import Context, load_details, load_problems
from tools.chaos.verify import Tally, check
from tools.process import free_ports
from tools.simulate.run import SimulationResult

REPLICAS = len(SERVERS)
MARK_TIMEOUT_S = 30.0  # the most a scenario waits for the balancer to notice a change
# Statuses no upstream may see: Adobe drops an event answered 4xx (but 429) or 505, and the
# ingress never answers 500 on purpose.
RETRIED_4XX = {"429"}
NEVER = {"500", "505"}


def unretried(errors: dict[str, int]) -> dict[str, int]:
    """The answers among ``errors`` that the upstream would not retry, or that are bugs."""
    return {
        status: n
        for status, n in errors.items()
        if status in NEVER or (status.startswith("4") and status not in RETRIED_4XX)
    }


@dataclass(frozen=True)
class Finished:
    simulation: SimulationResult
    lag_left: dict[str, int]  # per worker group, after waiting for it to catch up
    worker_exits: list[int | None]


@dataclass
class Fleet:
    name: str
    bootstrap: str
    work: Path
    prefix: str
    replicas: list[IngressProcess]
    balancer: Balancer
    workers: Workers
    load: Load
    details: dict[str, Any] = field(default_factory=dict)

    async def close(self) -> None:
        """Stop whatever still runs (a failure may leave the load running)."""
        self.load.cancel()
        await self.workers.stop()
        await asyncio.gather(*(r.stop() for r in self.replicas))
        await self.balancer.stop()

    async def finish(self) -> Finished:
        """The end of the load (retries drained); then, side by side, the workers catch up and
        stop while the replicas drain and stop (nothing is sent to them any more)."""
        simulation = await self.load.finish()
        settling = asyncio.create_task(self.workers.settle())
        await asyncio.gather(*(r.stop() for r in self.replicas))
        left, codes = await settling
        return Finished(simulation, left, codes)

    async def verify(self, done: Finished) -> tuple[Tally, list[str], dict[str, Any]]:
        """The tally with the workers' effects, the problems every row shares, and details."""
        tally, topics = await check(self.bootstrap, self.prefix, self.load.ack_file)
        found = await self.workers.effects(topics)
        problems = load_problems(done.simulation) + [p for e in found for p in e.problems]
        if any(done.lag_left.values()):
            problems.append(f"the workers did not catch up: records left {done.lag_left}")
        if any(done.worker_exits):
            problems.append(f"workers exited {done.worker_exits} on SIGTERM")
        bad = unretried(self.load.errors())
        if bad:
            problems.append(f"answers the upstream does not retry (or bugs): {bad}")
        slowest = self.load.slowest_answer_s()
        if slowest >= ADOBE_TIMEOUT_S:
            problems.append(f"a delivery waited {slowest:.1f} s: Adobe gives up at 10 s")
        details = {
            **load_details(done.simulation),
            **{k: v for e in found for k, v in e.details.items()},
            "slowest_answer_s": round(slowest, 2),
        }
        return with_effects(tally, found), problems, details


def _replica(
    ctx: Context, folder: Path, port: int, bootstrap: str, prefix: str, key_port: int
) -> IngressProcess:
    s = ctx.settings
    spec = IngressSpec(
        port=port,
        bootstrap=bootstrap,
        prefix=prefix,
        key_base_url=f"http://127.0.0.1:{key_port}",
        partitions=s.partitions,
        publish_timeout_s=s.publish_timeout_s,
        drain_timeout_s=s.drain_timeout_s,
        readiness_grace_s=s.lb_grace_s,
    )
    folder.mkdir(exist_ok=True)
    return IngressProcess(spec, tenants(s), folder, ctx.env)


async def start_fleet(
    ctx: Context,
    name: str,
    bootstrap: str,
    *,
    load_s: float | None = None,
    drain_s: float | None = None,
) -> Fleet:
    """Start the replicas, the workers and HAProxy; once the balancer has every replica up,
    start the load through it (``load_s`` and ``drain_s`` replace the settings' if given)."""
    s = ctx.settings
    work = ctx.folder(name)
    key_port, lb_port, stats_port, *ports = free_ports(3 + REPLICAS)
    prefix = f"chaos-{name}-{uuid.uuid4().hex[:6]}"
    replicas = [
        _replica(ctx, work / f"replica-{n}", port, bootstrap, prefix, key_port)
        for n, port in enumerate(ports, start=1)
    ]
    addresses = tuple(f"127.0.0.1:{port}" for port in ports)
    balancer = Balancer(BalancerSpec(lb_port, stats_port, addresses), work, ctx.env)
    workers = Workers(bootstrap, prefix, s.partitions, s.session_timeout_ms, work, ctx.env)
    settings = replace(s, load_s=load_s or s.load_s, drain_s=drain_s or s.drain_s)
    load = Load(settings, balancer.spec.url, key_port, work / "acks.jsonl", ctx.keys)
    fleet = Fleet(name, bootstrap, work, prefix, replicas, balancer, workers, load)
    try:
        await asyncio.gather(*(r.start() for r in replicas))
        await workers.start()  # after the replicas: they create the input topics
        await balancer.start()
        starting = time.monotonic()
        if await balancer.wait_state(SERVERS, "UP", starting, MARK_TIMEOUT_S) is None:
            raise RuntimeError(f"HAProxy did not mark every replica up: see {balancer.log}")
    except BaseException:
        await fleet.close()
        raise
    load.start()
    return fleet
