"""Running real workers against the session's broker: settings, publishing, reading outputs."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka.structs import ConsumerRecord

from pipeline.consume.loop import ConsumeLoop
from pipeline.envelope import Envelope
from pipeline.publish import Publisher
from pipeline.reader import read_all
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import OutboundRecord, Topics, build_topics, route
from pipeline.workers.service import serve_worker
from pipeline.workers.settings import WorkerSettings, parse_worker_settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy" / "workers"
WAIT_S = 30.0


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def worker_settings(
    kind: str,
    bootstrap: str,
    prefix: str,
    *,
    doc: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    partitions: int = 3,
    group: str | None = None,
    base: Path = DEPLOY,
) -> WorkerSettings:
    """Settings as the CLI would build them, tuned for quick tests (fast heartbeats, commits)."""
    doc = dict(doc or {})
    doc.setdefault("topics", {"prefix": prefix, "partitions": partitions})
    doc.setdefault("kafka", {"bootstrap_servers": bootstrap, "connect_retry_seconds": 0.5})
    worker = {
        "host": "127.0.0.1",
        "commit_interval_seconds": 0.2,
        "tick_interval_seconds": 0.2,
        "heartbeat_interval_ms": 300,
        "session_timeout_ms": 6000,
        "fetch_max_wait_ms": 50,
        "retry_initial_seconds": 0.05,
        "retry_max_seconds": 0.5,
        "drain_timeout_seconds": 10,
    }
    doc["worker"] = {**worker, **doc.get("worker", {})}
    section = dict(doc.get(kind, {}))
    section.setdefault("group_id", group or f"{prefix}-{kind}")
    section.setdefault("start_from", "earliest")
    section.setdefault("port", 0)
    doc[kind] = section
    return parse_worker_settings(kind, doc, env or {}, base)


def input_topics(prefix: str, partitions: int = 3) -> Topics:
    return build_topics(TopicSettings(prefix=prefix, partitions=partitions), 10 * 1024 * 1024)


@contextlib.asynccontextmanager
async def publisher(bootstrap: str, topics: Topics) -> AsyncIterator[Publisher]:
    async with Publisher(
        KafkaSettings(bootstrap_servers=bootstrap, connect_retry_s=0.5), topics
    ) as pub:
        await pub.wait_ready(WAIT_S)
        yield pub


async def publish(pub: Publisher, topics: Topics, envs: Sequence[Envelope], **record: Any) -> None:
    """Publish envelopes as the ingress does (``route``), in order, one partition key each."""
    await pub.publish([route(e, topics)._replace(**record) for e in envs])


@dataclass
class RunningWorker:
    loop: ConsumeLoop
    port: int
    task: "asyncio.Task[int]"
    stop: asyncio.Event

    def count(self, outcome: str = "handled") -> int:
        return int(self.loop._counted[outcome]._value.get())

    def seen(self) -> int:
        return sum(self.count(o) for o in ("handled", "duplicate", "deadlettered"))

    async def wait_seen(self, n: int, timeout_s: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout_s):
            while True:  # polling: the counters offer no notification
                if self.seen() >= n:
                    return
                await asyncio.sleep(0.05)

    async def shutdown(self) -> int:
        self.stop.set()
        return await asyncio.wait_for(self.task, WAIT_S)


async def start_worker(
    settings: WorkerSettings, clock: Callable[[], float] | None = None
) -> RunningWorker:
    stop = asyncio.Event()
    started: asyncio.Future[tuple[ConsumeLoop, int]] = asyncio.get_running_loop().create_future()
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    task = asyncio.create_task(
        serve_worker(
            settings,
            stop.wait(),
            on_ready=lambda lp, port: started.set_result((lp, port)),
            **kwargs,
        )
    )
    either: set[asyncio.Future[Any]] = {task, started}
    done, _ = await asyncio.wait(either, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        raise AssertionError(f"worker exited with {task.result()}")
    loop, port = started.result()
    await loop.wait_ready(WAIT_S)
    return RunningWorker(loop, port, task, stop)


@contextlib.asynccontextmanager
async def running(
    settings: WorkerSettings, clock: Callable[[], float] | None = None
) -> AsyncIterator[RunningWorker]:
    worker = await start_worker(settings, clock)
    try:
        yield worker
    finally:
        if not worker.task.done():
            await worker.shutdown()


async def read_topic(
    bootstrap: str, topic: str, timeout_s: float = WAIT_S
) -> list[ConsumerRecord[Any, Any]]:
    """Every record on the topic now, in offset order per partition; none if it does not exist."""
    return await read_all(KafkaSettings(bootstrap_servers=bootstrap), topic, timeout_s=timeout_s)


async def values(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in await read_topic(bootstrap, topic) if r.value]


async def wait_for_values(
    bootstrap: str,
    topic: str,
    enough: Callable[[list[dict[str, Any]]], bool],
    timeout_s: float = WAIT_S,
) -> list[dict[str, Any]]:
    async with asyncio.timeout(timeout_s):
        while True:
            found = await values(bootstrap, topic)
            if enough(found):
                return found
            await asyncio.sleep(0.2)


def latest_by_key(records: list[ConsumerRecord[Any, Any]]) -> dict[str, dict[str, Any]]:
    """A compacted topic as a table: the last value per key."""
    table: dict[str, dict[str, Any]] = {}
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        if r.value is not None:
            table[r.key.decode()] = orjson.loads(r.value)
    return table


def outbound(env: Envelope, topics: Topics, **changes: Any) -> OutboundRecord:
    return route(env, topics)._replace(**changes)


async def until(condition: Callable[[], bool], what: str = "", timeout_s: float = 60.0) -> None:
    """Poll ``condition`` (the fakes and counters offer no notification) until it holds."""
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or condition}") from None
