"""The ceilings the ingress is measured against, on the same broker in the same run.

* A: Kafka's own ``ProducerPerformance`` (Java) producing the ingress' envelopes (a payload file
  of them), ``acks=all``, idempotent, the ingress producer's linger and batch size.
* B: a raw aiokafka producer publishing the same envelopes through the batch path that
  ``pipeline/publish.py`` uses (``create_batch``/``send_batch`` per partition), ``acks=all``,
  idempotent, each batch filled up to the producer's batch size; no HTTP, no parsing, no
  normalizing, and the partitions are chosen (murmur2 of the key) before the clock starts.

Each ceiling also reports its records per CPU-second: A over the whole JVM (its start-up
included, so a lower bound), B over the measured window of this process, which does nothing
else meanwhile.
"""

import asyncio
import contextlib
import re
import resource
import shutil
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from time import monotonic
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import create_missing, wait_writable
from pipeline.publish import partition_for
from pipeline.settings import KafkaSettings
from pipeline.topics import OutboundRecord, Topic

PERF_CLASS = "org.apache.kafka.tools.ProducerPerformance"
PERF_RESULT = re.compile(
    r"(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency"
    r"(?:, (?P<p50>\d+) ms 50th, (?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th)?"
)


class CeilingFailed(RuntimeError):
    pass


def producer_properties(kafka: KafkaSettings) -> list[str]:
    """The ingress producer's settings, as Java producer properties."""
    return [
        "acks=all",
        "enable.idempotence=true",
        f"linger.ms={kafka.linger_ms}",
        f"batch.size={kafka.max_batch_bytes}",
        f"max.request.size={kafka.max_record_bytes}",
        f"compression.type={kafka.compression_type}",
    ]


def parse_perf(output: str) -> dict[str, Any]:
    """The final summary line of ProducerPerformance (the last match: steady state)."""
    matches = list(PERF_RESULT.finditer(output))
    if not matches:
        raise CeilingFailed(f"no ProducerPerformance summary in its output:\n{output[-2000:]}")
    m = matches[-1]
    return {
        "records": int(m["records"]),
        "records_per_s": float(m["rate"]),
        "mb_per_s": float(m["mb"]),
        "latency_ms": {
            "avg": float(m["avg"]),
            "max": float(m["max"]),
            "p50": float(m["p50"] or 0),
            "p99": float(m["p99"] or 0),
        },
    }


async def ceiling_a(
    bootstrap: str,
    libs_dir: Path,
    topic: str,
    payload_file: Path,
    records: int,
    kafka: KafkaSettings,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    java = shutil.which("java")
    if java is None:
        raise CeilingFailed("java is not installed: ceiling A needs it")
    argv = [
        java, "-Xmx512m", "-cp", f"{libs_dir}/*", PERF_CLASS,
        "--bootstrap-server", bootstrap, "--topic", topic,
        "--num-records", str(records), "--throughput", "-1",
        "--payload-file", str(payload_file),
        "--command-property", *producer_properties(kafka),
    ]  # fmt: skip
    before = cpu_s(resource.RUSAGE_CHILDREN)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise CeilingFailed(f"ProducerPerformance did not finish within {timeout_s:g} s") from exc
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise CeilingFailed(f"ProducerPerformance exited {proc.returncode}:\n{text[-2000:]}")
    result = parse_perf(text)
    jvm_cpu_s = cpu_s(resource.RUSAGE_CHILDREN) - before
    result["cpu_s"] = round(jvm_cpu_s, 3)
    result["records_per_cpu_s"] = round(result["records"] / max(jvm_cpu_s, 1e-9), 1)
    return result


def cpu_s(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def ensure_topics(bootstrap: str, topics: Sequence[Topic]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await create_missing(admin, tuple(topics))
        await wait_writable(admin, {t.name for t in topics}, 30.0)
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: Sequence[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            with contextlib.suppress(Exception):
                await admin.delete_topics(doomed)
    finally:
        await admin.close()


def producer_for(bootstrap: str, kafka: KafkaSettings) -> AIOKafkaProducer:
    """The ingress' producer configuration (pipeline/publish.py ``_new_producer``)."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="datastreams-bench",
        acks="all",
        enable_idempotence=True,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_bytes,
        max_request_size=kafka.max_record_bytes,
        compression_type=None if kafka.compression_type == "none" else kafka.compression_type,
    )


def by_partition(
    deliveries: list[list[OutboundRecord]], partitions: dict[str, list[int]]
) -> dict[tuple[str, int], list[OutboundRecord]]:
    streams: dict[tuple[str, int], list[OutboundRecord]] = defaultdict(list)
    for records in deliveries:
        for r in records:
            streams[(r.topic, partition_for(r.key, partitions[r.topic]))].append(r)
    return streams


async def ceiling_b(
    bootstrap: str,
    deliveries: list[list[OutboundRecord]],
    kafka: KafkaSettings,
    duration_s: float,
    warmup_s: float,
) -> dict[str, Any]:
    """The batch path at its best: one task per partition fills a batch (up to the producer's
    batch size) from that partition's records and hands it to ``send_batch``; aiokafka keeps
    one batch per partition queued, so the next batch is built while the previous one is in
    flight. Counts the records acknowledged after the warmup."""
    producer = producer_for(bootstrap, kafka)
    await producer.start()
    try:
        topics = {r.topic for d in deliveries for r in d}
        partitions = {t: sorted(await producer.partitions_for(t)) for t in topics}
        streams = by_partition(deliveries, partitions)
        counter = _Counter(monotonic() + warmup_s)
        end = counter.measure_from + duration_s
        window = asyncio.create_task(_cpu_from(warmup_s))
        await asyncio.gather(
            *(_partition_loop(producer, tp, recs, end, counter) for tp, recs in streams.items())
        )
        spent_s = cpu_s() - await window
    finally:
        await producer.stop()
    elapsed = monotonic() - counter.measure_from
    return {
        "records_per_s": counter.records / elapsed,
        "cpu_s": round(spent_s, 3),
        "records_per_cpu_s": round(counter.records / max(spent_s, 1e-9), 1),
        "batches_per_s": counter.batches / elapsed,
        "records_per_batch": counter.records / max(1, counter.batches),
        "partitions": len(streams),
    }


async def _cpu_from(delay_s: float) -> float:
    await asyncio.sleep(delay_s)
    return cpu_s()


class _Counter:
    def __init__(self, measure_from: float) -> None:
        self.measure_from = measure_from
        self.records = 0
        self.batches = 0

    def acknowledged(self, records: int) -> None:
        if monotonic() >= self.measure_from:
            self.records += records
            self.batches += 1


async def _partition_loop(
    producer: AIOKafkaProducer,
    tp: tuple[str, int],
    records: list[OutboundRecord],
    end: float,
    counter: _Counter,
) -> None:
    topic, partition = tp
    pending: list[asyncio.Future[Any]] = []
    n = 0
    while monotonic() < end:
        batch, count = producer.create_batch(), 0
        while True:
            r = records[n % len(records)]
            if (
                batch.append(
                    key=r.key, value=r.value, timestamp=r.timestamp_ms, headers=list(r.headers)
                )
                is None
            ):
                break
            n, count = n + 1, count + 1
        future = await producer.send_batch(batch, topic, partition=partition)
        future.add_done_callback(lambda f, c=count: counter.acknowledged(c))
        pending.append(future)
        pending = [f for f in pending if not f.done()]
    await asyncio.gather(*pending)
