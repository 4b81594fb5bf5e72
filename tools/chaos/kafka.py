"""Brokers a scenario may break: one broker of its own, or a three-node KRaft cluster.

Both come from ``tools.kafka``, whose calls block while a JVM starts or stops, so they run in a
thread.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

from tools.kafka import kill_broker, start_broker, start_cluster, stop_broker
from tools.kafka.layout import DEFAULT_LIBS_DIR as LIBS_DIR
from tools.process import free_ports

START_TIMEOUT_S = 60.0
CLUSTER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class SingleBroker:
    """A single-node broker in ``data_dir`` that may be stopped and started again."""

    data_dir: Path
    port: int
    controller_port: int
    libs_dir: Path = LIBS_DIR

    @classmethod
    def on_free_ports(cls, data_dir: Path, libs_dir: Path = LIBS_DIR) -> "SingleBroker":
        port, controller_port = free_ports(2)
        return cls(data_dir, port, controller_port, libs_dir)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        await asyncio.to_thread(
            start_broker,
            self.data_dir,
            self.port,
            self.controller_port,
            self.libs_dir,
            START_TIMEOUT_S,
        )

    async def stop(self) -> None:
        """SIGTERM, as an orderly broker restart would."""
        await asyncio.to_thread(stop_broker, self.data_dir)


@dataclass(frozen=True)
class Cluster:
    nodes: tuple[Path, ...]
    bootstrap: str

    @classmethod
    async def start(cls, base_dir: Path, size: int, libs_dir: Path = LIBS_DIR) -> "Cluster":
        flat = free_ports(2 * size)
        ports = list(zip(flat[::2], flat[1::2], strict=True))
        nodes = await asyncio.to_thread(start_cluster, base_dir, ports, libs_dir, CLUSTER_TIMEOUT_S)
        return cls(tuple(nodes), ",".join(f"127.0.0.1:{port}" for port, _ in ports))

    async def kill(self, node: int) -> None:
        await asyncio.to_thread(kill_broker, self.nodes[node])

    async def stop(self) -> None:
        # A crash stop for every node: a graceful one waits for a quorum that may be gone.
        for node in range(len(self.nodes)):
            await self.kill(node)
