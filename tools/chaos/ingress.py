"""The ingress as the scenarios run it: ``datastreams ingress`` in a process of its own, with a
config file written for the simulator's tenants, restartable on the same port after a kill."""

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tools.process import Child
from tools.simulate.tenants import SimTenant, tenants_toml

# The tools measure faults, not rate limits: per-credential limits are far above the load.
UNLIMITED_EVENTS_PER_S = 10_000_000
UNLIMITED_DELIVERIES_PER_S = 1_000_000


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without our own overrides: the config file decides."""
    return {
        k: v
        for k, v in env.items()
        if not k.startswith("DATASTREAMS_") and k != "KAFKA_BOOTSTRAP_SERVERS"
    }


@dataclass(frozen=True)
class IngressSpec:
    port: int
    bootstrap: str
    prefix: str
    key_base_url: str
    partitions: int
    publish_timeout_s: float
    drain_timeout_s: float
    replication_factor: int = 1
    min_insync_replicas: int | None = None
    readiness_grace_s: float = 0.0  # behind a balancer: long enough for it to take us out

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def toml(self, tenants: Sequence[SimTenant]) -> str:
        lines = [
            "# Written by tools/chaos for a local ingress on 127.0.0.1. Test tokens only.",
            "[server]",
            'host = "127.0.0.1"',
            f"port = {self.port}",
            f"drain_timeout_seconds = {self.drain_timeout_s}",
            f"readiness_grace_seconds = {self.readiness_grace_s}",
            'log_level = "INFO"',  # the shutdown summary line is logged at INFO
            "[kafka]",
            f'bootstrap_servers = "{self.bootstrap}"',
            f"publish_timeout_seconds = {self.publish_timeout_s}",
            "connect_retry_seconds = 0.5",
            "health_interval_seconds = 0.5",
            "[topics]",
            f'prefix = "{self.prefix}"',
            f"partitions = {self.partitions}",
            f"replication_factor = {self.replication_factor}",
        ]
        if self.min_insync_replicas is not None:
            lines.append(f"min_insync_replicas = {self.min_insync_replicas}")
        lines += [
            "[adobe_io]",
            f'public_key_base_url = "{self.key_base_url}"',
            "[limits]",
            f"events_per_second = {UNLIMITED_EVENTS_PER_S}.0",
            f"events_burst = {UNLIMITED_EVENTS_PER_S}",
            f"deliveries_per_second = {UNLIMITED_DELIVERIES_PER_S}.0",
            f"deliveries_burst = {UNLIMITED_DELIVERIES_PER_S}",
        ]
        return "\n".join(lines) + "\n" + tenants_toml(tenants)


class IngressProcess:
    def __init__(
        self, spec: IngressSpec, tenants: Sequence[SimTenant], work: Path, env: Mapping[str, str]
    ) -> None:
        self.spec = spec
        self.config = work / "ingress.toml"
        self.config.write_text(spec.toml(tenants), "utf-8")
        self.log = work / "ingress.log"
        self.env = child_env(env) | {"DATASTREAMS_CONFIG": str(self.config)}
        self.child: Child | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start (or start again, on the same port) and wait until /readyz says 200."""
        self.starts += 1
        self.child = Child.datastreams(f"ingress #{self.starts}", ["ingress"], self.env, self.log)
        await self.child.start(self.spec.url + "/readyz")

    def running(self) -> Child:
        if self.child is None or not self.child.running:
            raise RuntimeError("the ingress is not running")
        return self.child

    async def stop(self) -> int | None:
        return None if self.child is None else await self.child.stop()

    async def get(self, path: str) -> tuple[int, str]:
        """(status, body) of a GET, (0, "") when nothing answers."""
        try:
            async with aiohttp.ClientSession() as session, session.get(self.spec.url + path) as r:
                return r.status, await r.text()
        except (aiohttp.ClientError, OSError):
            return 0, ""

    async def wait_status(self, path: str, status: int, timeout_s: float) -> bool:
        """Poll until ``path`` answers ``status``; False if it does not within the timeout."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while True:  # polling: readiness has no push notification
                    if (await self.get(path))[0] == status:
                        return True
                    await asyncio.sleep(0.1)
        return False
