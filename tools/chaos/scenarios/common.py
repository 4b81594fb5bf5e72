"""What every scenario shares: its context, and an ingress under simulator load (a ``Rig``)."""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.chaos.ingress import IngressProcess, IngressSpec
from tools.chaos.load import Keys, Load, tenants
from tools.chaos.settings import ChaosSettings
from tools.chaos.verify import Ack, Records, Tally, check
from tools.kafka import DEFAULT_LIBS_DIR as LIBS_DIR
from tools.process import free_port
from tools.simulate.run import SimulationResult


@dataclass(frozen=True)
class Context:
    settings: ChaosSettings
    work: Path  # one folder per scenario is made below it
    bootstrap: str  # a broker the scenarios that do not break brokers share
    keys: Keys  # the simulator's Adobe signing keys (slow to generate: once per run)
    env: Mapping[str, str]  # for the child processes
    libs_dir: Path = LIBS_DIR

    def folder(self, scenario: str) -> Path:
        path = (self.work / scenario).resolve()  # config files name paths inside it
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class Rig:
    """An ingress process (restartable) fed by the simulator."""

    name: str
    bootstrap: str
    work: Path
    ingress: IngressProcess
    load: Load
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.ingress.spec.prefix

    async def close(self) -> None:
        """Stop the load (if a failure left it running) and the ingress."""
        self.load.cancel()
        await self.ingress.stop()

    async def verify(self, extra: tuple[Ack, ...] = ()) -> tuple[Tally, dict[str, Records]]:
        return await check(self.bootstrap, self.prefix, self.load.ack_file, extra)


async def start_rig(
    ctx: Context,
    name: str,
    bootstrap: str,
    *,
    replication_factor: int = 1,
    min_insync_replicas: int | None = None,
    start_load: bool = True,
) -> Rig:
    """Start the ingress, then (unless told not to) the load against it."""
    s = ctx.settings
    work = ctx.folder(name)
    key_port = free_port()
    spec = IngressSpec(
        port=free_port(),
        bootstrap=bootstrap,
        prefix=f"chaos-{name}-{uuid.uuid4().hex[:6]}",
        key_base_url=f"http://127.0.0.1:{key_port}",
        partitions=s.partitions,
        publish_timeout_s=s.publish_timeout_s,
        drain_timeout_s=s.drain_timeout_s,
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
    )
    ingress = IngressProcess(spec, tenants(s), work, ctx.env)
    await ingress.start()
    load = Load(s, spec.url, key_port, work / "acks.jsonl", ctx.keys)
    if start_load:
        load.start()
    return Rig(name, bootstrap, work, ingress, load)


def sent(result: SimulationResult) -> int:
    return sum(p.generated + p.duplicates for p in result.paths.values())


def load_details(result: SimulationResult) -> dict[str, Any]:
    """What the simulator saw, for the JSON report."""
    return {
        "elapsed_s": round(result.elapsed_s, 1),
        "retries": sum(p.retries for p in result.paths.values()),
        "statuses": {k: dict(p.statuses) for k, p in result.paths.items()},
        "dropped_events": sum(p.dropped_events + p.expired_events for p in result.paths.values()),
        "undelivered_at_end": result.pending_events,
    }


def load_problems(result: SimulationResult) -> list[str]:
    """Faults must not make the upstream give up: every event is delivered by the end."""
    problems = []
    if result.unverified_registrations:
        problems.append(f"{result.unverified_registrations} Adobe registration(s) not verified")
    dropped = sum(p.dropped_events + p.expired_events for p in result.paths.values())
    if dropped:
        problems.append(f"the simulator dropped {dropped} event(s) (answered 4xx or expired)")
    if result.pending_events:
        problems.append(f"{result.pending_events} event(s) still undelivered after the drain")
    return problems


def since(moment: float) -> float:
    return round(time.monotonic() - moment, 2)
