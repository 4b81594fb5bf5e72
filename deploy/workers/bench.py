"""Worker throughput: events handled per second by one worker process (target >= 50,000/s).

    .venv/bin/python deploy/workers/bench.py [--events 300000] [--kind alerting|scoring|both]

Writes ``--events`` envelopes (a realistic mix: 94 % lead activity over 50,000 leads, 5 % user
audit, 1 % notifications, 1 % duplicates) to fresh topics, then runs each worker in this process
(the producer has stopped by then) from the beginning of the topics with the real handler and
the default rules/scoring config, and reports records handled per second from the first record
handled to the last. Kafka: ``KAFKA_BOOTSTRAP_SERVERS`` if set, else a temporary broker on free
ports started with ``deploy/kafka/broker.py`` and stopped afterwards. Do not run it while the
test suite runs: on 2 cores the figure would mean little.
"""

import argparse
import asyncio
import importlib.util
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from pipeline.consume import ConsumeLoop  # noqa: E402
from pipeline.envelope import Envelope, Stream, Via  # noqa: E402
from pipeline.publish import Publisher  # noqa: E402
from pipeline.settings import TopicSettings  # noqa: E402
from pipeline.topics import OutboundRecord, build_topics, route  # noqa: E402
from pipeline.workers.service import serve_worker, tune_gc  # noqa: E402
from pipeline.workers.settings import load_worker_settings  # noqa: E402

MUNCHKINS = ("321-XYZ-987", "654-SBX-321")
LEAD_TYPES = (  # (activityTypeId, name, share)
    (10, "Open Email", 30),
    (1, "Visit Webpage", 25),
    (7, "Email Delivered", 15),
    (6, "Send Email", 10),
    (11, "Click Email", 5),
    (3, "Click Link", 5),
    (2, "Fill Out Form", 3),
    (13, "Change Data Value", 4),
    (22, "Change Score", 2),
    (9, "Unsubscribe Email", 1),
)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def lead_activity(rng: random.Random, at: datetime) -> Envelope:
    type_id, name, _ = rng.choices(LEAD_TYPES, weights=[t[2] for t in LEAD_TYPES])[0]
    munchkin, lead = rng.choice(MUNCHKINS), str(rng.randrange(50_000))
    suffix = name.lower().replace(" ", "")
    data = {
        "munchkinId": munchkin,
        "leadId": lead,
        "activityDate": iso(at),
        "activityTypeId": type_id,
        "activityType": name,
        "activityLogItemId": rng.randrange(10**11),
        "primaryAttributeValueId": 5120,
        "primaryAttributeValue": "Spring Webinar.Confirmation Email",
        "attributes": [
            {"name": "Campaign Run ID", "dataType": "integer", "value": 90211},
            {"name": "Mailing ID", "dataType": "object", "value": 5120},
            {"name": "Change Value", "dataType": "string", "value": str(rng.randrange(-60, 60))},
        ],
    }
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.activity.standard.{suffix}",
        iso(at),
        lead,
        munchkin,
        Stream.LEAD_ACTIVITY,
        suffix,
        iso(at),
        Via.ADOBE_IO,
        data,
    )


def user_audit(rng: random.Random, at: datetime) -> Envelope:
    component, action = rng.choice(
        [("Login", "login failure"), ("Login", "login success"), ("Email", "approve")]
    )
    user = f"user{rng.randrange(200)}@example.com"
    data = {
        "componentId": rng.randrange(10_000),
        "componentType": component,
        "eventAction": action,
        "munchkinId": MUNCHKINS[0],
        "userId": user,
    }
    slug = action.lower().replace(" ", "_")
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.audit.user.{component.lower()}",
        iso(at),
        str(data["componentId"]),
        MUNCHKINS[0],
        Stream.USER_AUDIT,
        f"{component.lower()}.{slug}",
        iso(at),
        Via.ADOBE_IO,
        data,
    )


def notification(rng: random.Random, at: datetime) -> Envelope:
    kind = rng.choice(["campaign_abort", "web_services", "nurture"])
    action = {
        "campaignId": rng.randrange(100),
        "percent": rng.choice([50, 80, 100]),
        "dailyQuota": 50000,
    }
    data = {"munchkinId": MUNCHKINS[0], "componentType": kind, "eventAction": action}
    return Envelope(
        str(uuid.UUID(int=rng.getrandbits(128))),
        f"com.adobe.platform.marketo.notification.{kind}",
        iso(at),
        str(action["campaignId"]),
        MUNCHKINS[0],
        Stream.NOTIFICATION,
        kind,
        iso(at),
        Via.ADOBE_IO,
        data,
    )


async def produce(bootstrap: str, prefix: str, count: int) -> dict[str, int]:
    settings = TopicSettings(prefix=prefix, partitions=6)
    topics = build_topics(settings, 10 * 1024 * 1024)
    kafka = replace(load_worker_settings("scoring", {}).kafka, bootstrap_servers=bootstrap)
    rng = random.Random(7)  # noqa: S311 - reproducible benchmark data, not secrets
    start = datetime.now(UTC) - timedelta(hours=1)
    counts = {"lead-activity": 0, "user-audit": 0, "notification": 0}
    async with Publisher(replace(kafka, linger_ms=20), topics) as publisher:
        await publisher.wait_ready(60)
        batch: list[OutboundRecord] = []
        for i in range(count):
            at = start + timedelta(milliseconds=i * 10)
            roll = rng.random()
            maker = lead_activity if roll < 0.94 else user_audit if roll < 0.99 else notification
            env = maker(rng, at)
            record = route(env, topics)
            batch.append(record)
            counts[env.stream.value] += 1
            if rng.random() < 0.01:  # an upstream re-send
                batch.append(record)
                counts[env.stream.value] += 1
            if len(batch) >= 5000:
                await publisher.publish(batch)
                batch = []
        await publisher.publish(batch)
    return counts


async def poll_until(condition: Callable[[], bool]) -> None:
    # The worker's counters have no change notification: polling every 10 ms costs little.
    while not condition():  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def run_worker(
    kind: str, bootstrap: str, prefix: str, expected: int
) -> tuple[float, dict[str, Any]]:
    env = {
        "DATASTREAMS_WORKER_CONFIG": str(REPO / "deploy/workers/worker.toml"),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATASTREAMS_TOPIC_PREFIX": prefix,
        "DATASTREAMS_WORKER_PORT": "0",
        "DATASTREAMS_LOG_LEVEL": "WARNING",
    }
    settings = load_worker_settings(kind, env)
    settings = replace(
        settings,
        consume=replace(settings.consume, group_id=f"{prefix}-{kind}", start_from="earliest"),
        alerting=replace(settings.alerting, log_alerts=False) if settings.alerting else None,
    )
    stop = asyncio.Event()
    loops: list[ConsumeLoop] = []
    task = asyncio.create_task(
        serve_worker(settings, stop.wait(), on_ready=lambda lp, _: loops.append(lp))
    )
    await poll_until(lambda: bool(loops))
    registry_metrics = loops[0]._metrics  # the loop's own counters

    def done() -> float:
        total = 0.0
        for outcome in ("handled", "duplicate", "deadlettered"):
            total += registry_metrics.events.labels(kind, outcome)._value.get()
        return total

    await poll_until(lambda: done() > 0)
    started = time.perf_counter()
    await poll_until(lambda: done() >= expected)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    first_batch = 0  # the first batch is counted before the clock starts: ignore it fairly
    return (expected - first_batch) / elapsed, {"seconds": round(elapsed, 2)}


def load_broker() -> Any:
    spec = importlib.util.spec_from_file_location("bench_broker", REPO / "deploy/kafka/broker.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def main(args: argparse.Namespace) -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    broker, data_dir = None, None
    if not bootstrap:
        broker = load_broker()
        data_dir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
        port = broker.free_port()
        broker.start_broker(data_dir, port, broker.free_port(), REPO / "deploy/kafka/libs")
        bootstrap = f"127.0.0.1:{port}"
    try:
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        counts = await produce(bootstrap, prefix, args.events)
        print(
            f"produced {sum(counts.values())} records {counts} in {time.perf_counter() - t0:.1f} s"
        )
        kinds = ("alerting", "scoring") if args.kind == "both" else (args.kind,)
        for kind in kinds:
            expected = sum(counts.values()) if kind == "alerting" else counts["lead-activity"]
            rate, info = await run_worker(kind, bootstrap, prefix, expected)
            verdict = "OK" if rate >= 50_000 else "BELOW TARGET"
            seconds = info["seconds"]
            print(f"{kind:9s} {rate:10,.0f} events/s  ({expected} records, {seconds} s)  {verdict}")
    finally:
        if broker is not None and data_dir is not None:
            broker.stop_broker(data_dir)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--kind", choices=("alerting", "scoring", "both"), default="both")
    logging.basicConfig(level=logging.WARNING)
    tune_gc()  # as `datastreams worker` does
    sys.exit(asyncio.run(main(parser.parse_args())))
