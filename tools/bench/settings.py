"""The benchmark's settings: frozen, built once by the command line; ``smoke`` shrinks it all."""

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import SECONDS
from pipeline.settings import KafkaSettings
from tools.bench.ramp import StepPlan
from tools.bench.workload import SHAPES

REPO_ROOT = Path(__file__).resolve().parents[2]

FULL_PLAN = StepPlan(
    duration_s=3 * SECONDS,
    warmup_s=1 * SECONDS,
    max_steps=10,
    growth=1.5,
    connections=64,
    overload_connections=512,  # more than the ingress' 256 concurrent deliveries: it must shed
    overload_factor=5.0,
)
SMOKE_PLAN = StepPlan(
    duration_s=0.8 * SECONDS,
    warmup_s=0.2 * SECONDS,
    max_steps=1,
    growth=1.5,
    connections=8,
    overload_connections=16,
    overload_factor=5.0,
)


@dataclass(frozen=True)
class ClosedPlan:
    """The closed-loop run of each target and shape (``wrk``)."""

    connections: int
    seconds: float
    warmup_s: float


# Node's JIT needs thousands of requests: kafka-hooks' requests per CPU-second rise about fourfold
# over its first 10 s under load, then hold (docs/performance.md). Every target gets the same.
FULL_CLOSED = ClosedPlan(connections=32, seconds=6 * SECONDS, warmup_s=10 * SECONDS)
SMOKE_CLOSED = ClosedPlan(connections=4, seconds=1 * SECONDS, warmup_s=0)


@dataclass(frozen=True)
class PoolSizes:
    direct_push: int
    adobe_batch: int
    adobe_single: int

    def of(self, shape: str) -> int:
        return {
            "direct-push": self.direct_push,
            "adobe-batch": self.adobe_batch,
            "adobe-single": self.adobe_single,
        }[shape]


@dataclass(frozen=True)
class BenchSettings:
    bootstrap: str
    out_dir: Path
    smoke: bool = False
    shapes: tuple[str, ...] = tuple(s.name for s in SHAPES)
    express: bool = True
    kafka_hooks: bool = True  # @platformatic/kafka-hooks, the single-event peer
    profile: bool = False  # py-spy on the ingress during an extra step per shape
    seed: int = 7
    tenants: int = 4
    libs_dir: Path = REPO_ROOT / "deploy" / "kafka" / "libs"
    kafka: KafkaSettings = field(default_factory=KafkaSettings)  # the ingress' producer defaults
    partitions: int = 6
    plan: StepPlan = FULL_PLAN
    closed: ClosedPlan = FULL_CLOSED
    pools: PoolSizes = PoolSizes(direct_push=24, adobe_batch=256, adobe_single=512)
    ceiling_a_records: int = 400_000
    ceiling_b_s: float = 6 * SECONDS
    profile_s: float = 8 * SECONDS
    workers: bool = True  # the last phase: each worker's throughput over a produced mix
    only_workers: bool = False  # that phase alone (no ceilings, ingress, sample or peer)
    worker_events: int = 300_000
    worker_repeats: int = 5  # the target is judged on the median repetition
    processes: int = 1  # the ingress' server.processes


def smoke(settings: BenchSettings) -> BenchSettings:
    """The CI-sized run: one short step per phase, small pools, tiny ceilings, no profile."""
    return BenchSettings(
        bootstrap=settings.bootstrap,
        out_dir=settings.out_dir,
        smoke=True,
        shapes=settings.shapes,
        express=settings.express,
        kafka_hooks=settings.kafka_hooks,
        profile=False,
        seed=settings.seed,
        tenants=2,
        libs_dir=settings.libs_dir,
        kafka=settings.kafka,
        partitions=3,
        plan=SMOKE_PLAN,
        closed=SMOKE_CLOSED,
        pools=PoolSizes(direct_push=3, adobe_batch=16, adobe_single=32),
        ceiling_a_records=20_000,
        ceiling_b_s=1 * SECONDS,
        profile_s=0,
        workers=settings.workers,
        only_workers=settings.only_workers,
        worker_events=40_000,
        worker_repeats=1,
        processes=settings.processes,
    )
