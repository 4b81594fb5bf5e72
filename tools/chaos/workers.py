"""Worker replicas as the scenarios run them: ``datastreams worker <kind>`` processes sharing a
consumer group, each with its own /metrics port, and the group's progress as Kafka records it.
"""

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from pipeline.admin import partitions_of
from tools.chaos.ingress import child_env
from tools.kafka.layout import REPO_ROOT
from tools.process import Child, free_port

DEPLOY = REPO_ROOT / "deploy" / "workers"
CHECKPOINT_S = 1  # scoring: small moves reach the changelog (and commits advance) within 1 s
# (worker label, value): a process also reports its effects role's partitions
ASSIGNED = re.compile(
    r'^datastreams_worker_assigned_partitions\{[^}]*worker="([^"]+)"[^}]*\} (\S+)$', re.MULTILINE
)
INPUTS = {
    "alerting": ("lead-activity", "user-audit", "notification"),
    "scoring": ("lead-activity",),
}


def scoring_file(work: Path) -> Path:
    """The shipped scoring model with a short checkpoint interval."""
    text = (DEPLOY / "scoring.toml").read_text("utf-8")
    changed, n = re.subn(
        r"(?m)^checkpoint_seconds\s*=\s*\d+", f"checkpoint_seconds = {CHECKPOINT_S}", text
    )
    if n != 1:
        raise RuntimeError("deploy/workers/scoring.toml has no checkpoint_seconds line to shorten")
    path = work / "scoring.toml"
    path.write_text(changed, "utf-8")
    return path


@dataclass(frozen=True)
class WorkerSpec:
    kind: str
    bootstrap: str
    prefix: str
    partitions: int
    session_timeout_ms: int
    webhook: str = ""  # alerting: the receiver its effects role posts to
    signing_secret: str = ""

    @property
    def group(self) -> str:
        return f"{self.prefix}-{self.kind}"

    @property
    def inputs(self) -> list[str]:
        return [f"{self.prefix}.{short}" for short in INPUTS[self.kind]]

    def toml(self, work: Path) -> str:
        lines = [
            "[kafka]",
            f'bootstrap_servers = "{self.bootstrap}"',
            "connect_retry_seconds = 0.5",
            "[topics]",
            f'prefix = "{self.prefix}"',
            f"partitions = {self.partitions}",
            "[worker]",
            'host = "127.0.0.1"',
            'log_level = "INFO"',
            f"session_timeout_ms = {self.session_timeout_ms}",
            f"heartbeat_interval_ms = {self.session_timeout_ms // 10}",
            "commit_interval_seconds = 0.5",
            f"[{self.kind}]",
            f'group_id = "{self.group}"',
            'start_from = "earliest"',
        ]
        if self.kind == "alerting":
            lines += [f'rules_file = "{DEPLOY / "alert-rules.toml"}"', "log_alerts = false"]
            if self.webhook:
                lines += [
                    f'webhook_url = "{self.webhook}"',
                    f'webhook_signing_secrets = ["{self.signing_secret}"]',
                ]
        else:
            lines.append(f'config_file = "{scoring_file(work)}"')
        return "\n".join(lines) + "\n"


class Replica:
    def __init__(self, spec: WorkerSpec, number: int, config: Path, env: Mapping[str, str]) -> None:
        self.spec = spec
        self.port = free_port()
        self.name = f"{spec.kind}-{number}"
        self.log = config.parent / f"worker-{self.name}.log"
        env = child_env(env) | {
            "DATASTREAMS_WORKER_CONFIG": str(config),
            "DATASTREAMS_WORKER_PORT": str(self.port),
        }
        self.child = Child.datastreams(self.name, ["worker", spec.kind], env, self.log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self.child.start(self.url + "/readyz")

    async def assigned(self) -> int:
        """Partitions this replica's worker owns now (not its effects role's), from its /metrics
        (-1 when it does not answer)."""
        try:
            async with aiohttp.ClientSession() as session, session.get(self.url + "/metrics") as r:
                text = await r.text()
        except (aiohttp.ClientError, OSError):
            return -1
        found = ASSIGNED.findall(text)
        return int(sum(float(v) for worker, v in found if worker == self.spec.kind))


def write_config(spec: WorkerSpec, work: Path) -> Path:
    path = work / f"worker-{spec.kind}.toml"
    path.write_text(spec.toml(work), "utf-8")
    return path


async def wait_owned(replica: Replica, partitions: int, timeout_s: float) -> bool:
    """Poll until ``replica`` owns ``partitions`` partitions (a takeover has finished)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await replica.assigned() == partitions:
            return True
        await asyncio.sleep(0.1)
    return False


async def lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records of ``topics`` after the group's committed offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        parts = [TopicPartition(t, p) for t in topics for p in await partitions_of(admin, t)]
        committed = await admin.list_consumer_group_offsets(group, partitions=parts)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(parts)
    finally:
        await consumer.stop()
    done = {tp: max(0, meta.offset) for tp, meta in committed.items()}
    return sum(end - done.get(tp, 0) for tp, end in ends.items())


async def wait_caught_up(
    bootstrap: str, spec: WorkerSpec, timeout_s: float, topics: list[str] | None = None
) -> int:
    """Poll until the group has committed every record of its inputs (or ``topics``); the lag
    left (0 when caught up)."""
    deadline = time.monotonic() + timeout_s
    inputs = topics or spec.inputs
    left = await lag(bootstrap, spec.group, inputs)
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        left = await lag(bootstrap, spec.group, inputs)
    return left
