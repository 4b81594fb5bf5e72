"""Rising offered rates against one target and shape: find the max, then measure at half of it
and at ``overload`` times it.

A ramp step is *healthy* when at most 1 % of the requests failed or went unsent and the target
acknowledged at least 90 % of the offered rate; the rate grows (faster while the target's CPU
is low) until a step is not healthy, then one step between the last healthy rate and the
failing one narrows the gap. The max rate is the highest acknowledged delivery rate of a step
with at most 1 % errors.
"""

import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tools.bench.targets import Sample, Target, sample
from tools.bench.workload import Shape

SAMPLE_EVERY_S = 0.2
IDLE_WINDOW_S = 0.5
IDLE_CPU_FRACTION = 0.05


@dataclass(frozen=True)
class StepPlan:
    duration_s: float
    warmup_s: float
    max_steps: int
    growth: float  # rate factor between ramp steps (squared while the target's CPU is < 50 %)
    connections: int
    overload_connections: int
    overload_factor: float
    processes: int = 1


@dataclass
class Step:
    phase: str  # ramp, half, overload, profile
    offered_per_s: float
    result: dict[str, Any]
    cpu_percent: float
    rss_max_bytes: int
    events: int  # per delivery
    # over the measured window (after the warm-up): the target's processes, and the generators'
    cpu_s: float = 0.0
    generator_cpu_percent: float = 0.0

    @property
    def ok_per_s(self) -> float:
        return float(self.result["ok"]) / float(self.result["duration_s"])

    @property
    def events_per_s(self) -> float:
        return float(self.result["events_ok"]) / float(self.result["duration_s"])

    @property
    def events_per_cpu_s(self) -> float:
        return float(self.result["events_ok"]) / max(self.cpu_s, 1e-9)

    @property
    def failed(self) -> int:
        r = self.result
        return int(r["completed"]) - int(r["ok"]) + int(r["unsent"]) + int(r["incomplete"])

    @property
    def error_fraction(self) -> float:
        return self.failed / max(1, int(self.result["offered"]))

    @property
    def healthy(self) -> bool:
        return self.error_fraction <= 0.01 and self.ok_per_s >= 0.9 * self.offered_per_s

    def row(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "offered_per_s": round(self.offered_per_s, 1),
            "deliveries_per_s": round(self.ok_per_s, 1),
            "events_per_s": round(self.events_per_s, 1),
            "error_fraction": round(self.error_fraction, 4),
            "cpu_percent": round(self.cpu_percent, 1),
            "events_per_cpu_s": round(self.events_per_cpu_s, 1),
            "generator_cpu_percent": round(self.generator_cpu_percent, 1),
            "rss_max_mb": round(self.rss_max_bytes / 2**20, 1),
            **self.result,
        }


@dataclass
class ShapeRun:
    target: str
    shape: Shape
    steps: list[Step] = field(default_factory=list)
    max_per_s: float = 0.0  # deliveries/s
    half: Step | None = None
    overload: Step | None = None


class LoadGenerators:
    """The load generator processes for one target, shape and connection count."""

    def __init__(self, pool: Path, target: Target, shape: Shape, plan: StepPlan, conns: int):
        self.pool, self.target, self.shape, self.plan = pool, target, shape, plan
        self.connections = conns
        self.procs: list[asyncio.subprocess.Process] = []

    async def __aenter__(self) -> "LoadGenerators":
        n = self.plan.processes
        for _ in range(n):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tools.bench.loadgen",
                "--pool", str(self.pool), "--port", str(self.target.port),
                "--path", self.target.path(self.shape.name),
                "--connections", str(max(1, self.connections // n)),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            self.procs.append(proc)
        for proc in self.procs:
            await self._read(proc)  # {"ready": true}
        return self

    async def __aexit__(self, *exc: object) -> None:
        for proc in self.procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self.procs:
            try:
                async with asyncio.timeout(10):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()

    async def _read(self, proc: asyncio.subprocess.Process) -> dict[str, Any]:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError("a load generator exited early")
        doc: dict[str, Any] = orjson.loads(line)
        return doc

    async def step(self, phase: str, rate: float) -> Step:
        n = len(self.procs)
        order = {"rate": rate / n, "duration_s": self.plan.duration_s}
        order["warmup_s"] = self.plan.warmup_s
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(orjson.dumps(order) + b"\n")
            await proc.stdin.drain()
        pid = self.target.pid
        async with PeakRss(pid) as rss:
            window = asyncio.create_task(self._window(pid))
            results = [await self._read(proc) for proc in self.procs]
            target, generators = await window
        cpu = 100 * target.cpu_s / self.plan.duration_s
        step = Step(phase, rate, merge(results), cpu, rss.peak, self.shape.events)
        step.cpu_s = target.cpu_s
        step.generator_cpu_percent = 100 * generators.cpu_s / self.plan.duration_s
        return step

    async def _window(self, pid: int) -> tuple[Sample, Sample]:
        """CPU seconds of the target and of the generators over the measured window (the
        requests due after the warm-up), taken on the same clock as the generators'."""
        generators = [proc.pid for proc in self.procs]
        await asyncio.sleep(self.plan.warmup_s)
        first, first_gen = sample(pid), sample(*generators)
        await asyncio.sleep(self.plan.duration_s)
        last, last_gen = sample(pid), sample(*generators)
        return (
            Sample(last.at, last.cpu_s - first.cpu_s, last.rss_bytes),
            Sample(last_gen.at, last_gen.cpu_s - first_gen.cpu_s, last_gen.rss_bytes),
        )


class PeakRss:
    """The highest resident set size of a process while the block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "PeakRss":
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.peak = max(self.peak, sample(self.pid).rss_bytes)

    async def _watch(self) -> None:
        while True:
            self.peak = max(self.peak, sample(self.pid).rss_bytes)
            await asyncio.sleep(SAMPLE_EVERY_S)


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Several generators' results as one: counts add up; latency percentiles take the worst."""
    if len(results) == 1:
        return results[0]
    out = dict(results[0])
    for key in ("offered", "completed", "ok", "events_ok", "unsent", "incomplete"):
        out[key] = sum(r[key] for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    out["statuses"] = statuses
    for key in ("latency_ms", "service_ms"):
        out[key] = {q: max(r[key][q] for r in results) for q in results[0][key]}
    return out


async def run_shape(
    pool: Path,
    target: Target,
    shape: Shape,
    plan: StepPlan,
    report: Callable[[str], None],
) -> ShapeRun:
    run = ShapeRun(target.name, shape)
    async with LoadGenerators(pool, target, shape, plan, plan.connections) as load:
        rate, last_healthy = shape.start_rate, 0.0
        for _ in range(plan.max_steps):
            step = await load.step("ramp", rate)
            run.steps.append(step)
            report(describe(target.name, shape, step))
            if not step.healthy:
                break
            last_healthy = rate
            rate *= plan.growth**2 if step.cpu_percent < 50 else plan.growth
        if last_healthy and rate > 1.3 * last_healthy and len(run.steps) < plan.max_steps:
            step = await load.step("ramp", (rate * last_healthy) ** 0.5)
            run.steps.append(step)
            report(describe(target.name, shape, step))
        candidates = [s.ok_per_s for s in run.steps if s.error_fraction <= 0.01]
        run.max_per_s = max(candidates, default=run.steps[0].ok_per_s)
        run.half = await load.step("half", max(1.0, run.max_per_s / 2))
        run.steps.append(run.half)
        report(describe(target.name, shape, run.half))
    overload_rate = max(1.0, run.max_per_s * plan.overload_factor)
    async with LoadGenerators(pool, target, shape, plan, plan.overload_connections) as load:
        run.overload = await load.step("overload", overload_rate)
    run.steps.append(run.overload)
    report(describe(target.name, shape, run.overload))
    await settle(target)
    return run


async def settle(target: Target, timeout_s: float = 60.0) -> None:
    """Wait until the target is idle again: deliveries it accepted during an overload are still
    being worked off after the load stops, and must not weigh on the next measurement."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    before = sample(target.pid)
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(IDLE_WINDOW_S)
        now = sample(target.pid)
        if (now.cpu_s - before.cpu_s) / (now.at - before.at) < IDLE_CPU_FRACTION:
            return
        before = now


def describe(target: str, shape: Shape, step: Step) -> str:
    lat = step.result["latency_ms"]
    return (
        f"{target:>7} {shape.name:<12} {step.phase:<8} offered {step.offered_per_s:>8.1f}/s "
        f"ok {step.ok_per_s:>8.1f}/s ({step.events_per_s:>9,.0f} ev/s) "
        f"p50 {lat['p50']:>7.1f} p99 {lat['p99']:>7.1f} ms  err {step.error_fraction:6.1%} "
        f"cpu {step.cpu_percent:5.1f}% (load generators {step.generator_cpu_percent:5.1f}%) "
        f"rss {step.rss_max_bytes / 2**20:6.1f} MB"
    )
