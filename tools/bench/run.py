"""One benchmark run, all on one broker: ceilings A and B, then the ingress, Adobe's express
sample and ``@platformatic/kafka-hooks``, each first under closed-loop load (``wrk``: the per
CPU-second figures) and then under the same rising open-loop load per shape; then the table, JSON
and plot.

The ceilings run first, while nothing else loads the machine; the ingress and the sample each
run alone with their load generators. Topics are created under a fresh prefix and deleted at
the end, so runs do not pile up data on the broker.
"""

import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from time import monotonic

from aiohttp import web

from pipeline.settings import TopicSettings
from pipeline.topics import Topic, build_topics
from tools.bench import ceilings, profile, workers
from tools.bench.closed import closed_loop
from tools.bench.ramp import LoadGenerators, run_shape
from tools.bench.report import BenchResult
from tools.bench.settings import BenchSettings
from tools.bench.targets import Ingress, KafkaHooks, SampleConsumer, Target, TargetFailed
from tools.bench.workload import SHAPES, Shape, Workload, write_pool
from tools.process import free_port
from tools.simulate.signing import KeyServer, SigningKey
from tools.simulate.tenants import IngressConfig, ingress_toml, make_tenants

log = logging.getLogger(__name__)

PROFILE_RATE_OF_MAX = 0.8


class Bench:
    def __init__(
        self,
        settings: BenchSettings,
        env: Mapping[str, str],
        report: Callable[[str], None] = print,
    ) -> None:
        self.s = settings
        self.env = env
        self.report = report
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.shapes = [shape for shape in SHAPES if shape.name in settings.shapes]
        self.keys = (SigningKey(), SigningKey())
        self.workload = Workload(make_tenants(settings.tenants, settings.seed), self.keys, 1)
        self.pools: dict[str, Path] = {}
        self.topic_names: list[str] = []

    async def run(self) -> BenchResult:
        started, load_at_start = monotonic(), os.getloadavg()[0]
        self.s.out_dir.mkdir(parents=True, exist_ok=True)
        key_server = web.AppRunner(KeyServer(*self.keys).app, access_log=None)
        await key_server.setup()
        key_port = free_port()
        await web.TCPSite(key_server, "127.0.0.1", key_port).start()
        try:
            result = await self._run(f"http://127.0.0.1:{key_port}")
        finally:
            await key_server.cleanup()
            await ceilings.delete_topics(self.s.bootstrap, self.topic_names)
        result.elapsed_s = monotonic() - started
        result.load_average = [round(load_at_start, 2), round(os.getloadavg()[0], 2)]
        return result

    async def _run(self, key_base_url: str) -> BenchResult:
        if self.s.only_workers:
            result = BenchResult(self.s.smoke, None, None, 0.0)
            await self._workers(result)
            return result
        self._write_pools()
        result = await self._ceilings()
        ingress = self._ingress(key_base_url)
        await self._measure(ingress, result, profile_it=self.s.profile)
        if self.s.express:
            out = self.s.out_dir
            express = SampleConsumer(
                free_port(), out / "express.log", out / "express-bodies.log", self.env
            )
            await self._measure(express, result, profile_it=False)
        if self.s.kafka_hooks:
            await self._measure(await self._kafka_hooks(), result, profile_it=False)
        if self.s.workers:
            await self._workers(result)
        return result

    async def _workers(self, result: BenchResult) -> None:
        prefix = f"{self.prefix}-workers"
        repeats = self.s.worker_repeats
        self.topic_names += workers.topic_names(prefix, self.s.partitions, repeats)
        result.workers = await workers.measure_workers(
            self.s.bootstrap,
            prefix,
            self.s.worker_events,
            self.s.partitions,
            self.report,
            repeats,
        )

    def _write_pools(self) -> None:
        for shape in self.shapes:
            path = self.s.out_dir / f"pool-{shape.name}.jsonl"
            write_pool(path, self.workload.pool(shape, self.s.pools.of(shape.name)))
            self.pools[shape.name] = path
        if not self.workload.pushes:  # the ceilings publish direct-push envelopes
            self.workload.pool(SHAPES[0], self.s.pools.direct_push)

    async def _ceilings(self) -> BenchResult:
        topics = build_topics(self._topic_settings("ceiling"), self.s.kafka.max_record_bytes)
        records = self.workload.ceiling_records(topics)
        values = [r.value for delivery in records for r in delivery]
        envelope_bytes = sum(map(len, values)) / len(values)
        result = BenchResult(self.s.smoke, None, None, envelope_bytes)
        await ceilings.ensure_topics(self.s.bootstrap, topics.all())
        self.topic_names += [t.name for t in topics.all()]
        payload = self.s.out_dir / "envelopes.txt"
        payload.write_bytes(b"\n".join(values))
        try:
            result.ceiling_a = await ceilings.ceiling_a(
                self.s.bootstrap, self.s.libs_dir, topics.notification.name, payload,
                self.s.ceiling_a_records, self.s.kafka,
            )  # fmt: skip
            self.report(f"ceiling A: {result.ceiling_a['records_per_s']:,.0f} records/s")
        except ceilings.CeilingFailed as exc:
            result.problems.append(f"ceiling A: {exc}")
        warmup = min(1.0, self.s.ceiling_b_s / 3)
        result.ceiling_b = await ceilings.ceiling_b(
            self.s.bootstrap, records, self.s.kafka, self.s.ceiling_b_s, warmup
        )
        self.report(
            f"ceiling B: {result.ceiling_b['records_per_s']:,.0f} records/s "
            f"({result.ceiling_b['records_per_batch']:,.0f} records per batch)"
        )
        return result

    async def _kafka_hooks(self) -> KafkaHooks:
        topic = Topic(f"{self.prefix}-kafka-hooks", self.s.partitions, 1, {})
        await ceilings.ensure_topics(self.s.bootstrap, [topic])
        self.topic_names.append(topic.name)
        log_path = self.s.out_dir / "kafka-hooks.log"
        return KafkaHooks(free_port(), log_path, self.s.bootstrap, topic.name, self.env)

    def _topic_settings(self, name: str) -> TopicSettings:
        return TopicSettings(prefix=f"{self.prefix}-{name}", partitions=self.s.partitions)

    def _ingress(self, key_base_url: str) -> Ingress:
        port = free_port()
        prefix = f"{self.prefix}-ingress"
        config = IngressConfig(
            port=port,
            bootstrap=self.s.bootstrap,
            topic_prefix=prefix,
            key_base_url=key_base_url,
            partitions=self.s.partitions,
        )
        path = self.s.out_dir / "ingress.toml"
        path.write_text(ingress_toml(config, self.workload.tenants), "utf-8")
        topics = build_topics(self._topic_settings("ingress"), self.s.kafka.max_record_bytes)
        self.topic_names += [t.name for t in topics.all()]
        return Ingress(port, self.s.out_dir / "ingress.log", path, self.env, self.s.processes)

    async def _measure(self, target: Target, result: BenchResult, profile_it: bool) -> None:
        try:
            await target.start()
        except TargetFailed as exc:
            result.problems.append(str(exc))
            self.report(f"{target.name}: {exc}")
            await target.stop()
            return
        try:
            for shape in (shape for shape in self.shapes if target.takes(shape.name)):
                pool = self.pools[shape.name]
                await self._closed(target, shape, result)
                run = await run_shape(pool, target, shape, self.s.plan, self.report)
                result.runs.append(run)
                if profile_it:
                    result.profiles[shape.name] = await self._profile(target, shape, run.max_per_s)
        finally:
            await target.stop()

    async def _closed(self, target: Target, shape: Shape, result: BenchResult) -> None:
        closed = self.s.closed
        try:
            run = await closed_loop(
                self.pools[shape.name], target, shape, self.s.out_dir,
                connections=closed.connections, seconds=closed.seconds, warmup_s=closed.warmup_s,
            )  # fmt: skip
        except TargetFailed as exc:
            result.problems.append(f"closed loop {target.name} {shape.name}: {exc}")
            return
        result.closed.append(run)
        row = run.row()
        self.report(
            f"{target.name:>11} {shape.name:<12} closed   {row['events_per_cpu_s']:>10,.0f} events"
            f"/CPU-s {row['requests_per_cpu_s']:>9,.0f} requests/CPU-s; "
            f"{row['events_per_s']:>9,.0f} events/s at CPU {row['cpu_percent']:.0f}% "
            f"(wrk {row['generator_cpu_percent']:.0f}%), p99 {row['p99_ms']:.1f} ms"
        )

    async def _profile(self, target: Target, shape: Shape, max_per_s: float) -> dict[str, object]:
        out = self.s.out_dir / f"profile-{shape.name}.txt"
        plan = self.s.plan
        longer = replace(plan, duration_s=self.s.profile_s, warmup_s=0.5)
        pool = self.pools[shape.name]
        try:
            async with LoadGenerators(pool, target, shape, longer, plan.connections) as load:
                spy = await profile.start(target.pid, self.s.profile_s, out)
                step = await load.step("profile", max(1.0, max_per_s * PROFILE_RATE_OF_MAX))
                await spy.wait()
        except profile.ProfileFailed as exc:
            return {"error": str(exc)}
        if not out.is_file():
            return {"error": "py-spy wrote no profile (ptrace not permitted?)"}
        spots = profile.hot_spots(out.read_text("utf-8", "replace"))
        self.report(f"profiled {shape.name} at {step.ok_per_s:.0f}/s: {spots['samples']} samples")
        return {"rate_per_s": step.ok_per_s, "file": str(out), **spots}
