"""Brokers a scenario may break: one broker of its own, or a three-node KRaft cluster.

Both come from ``deploy/kafka/broker.py`` (not a package: loaded by path, once, under the same
module name the test fixture uses, so its registry of started JVMs is shared). Its calls block
while a JVM starts or stops, so they run in a thread.
"""

import asyncio
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

REPO = Path(__file__).resolve().parents[2]
BROKER_PY = REPO / "deploy" / "kafka" / "broker.py"
LIBS_DIR = REPO / "deploy" / "kafka" / "libs"
MODULE_NAME = "datastreams_kafka_broker"
START_TIMEOUT_S = 60.0
CLUSTER_TIMEOUT_S = 120.0


class BrokerModule(Protocol):
    def start_broker(
        self, data_dir: Path, port: int, controller_port: int, libs_dir: Path, timeout_s: float
    ) -> int: ...

    def stop_broker(self, data_dir: Path, timeout_s: float = ...) -> None: ...

    def start_cluster(
        self, base_dir: Path, ports: Sequence[tuple[int, int]], libs_dir: Path, timeout_s: float
    ) -> list[Path]: ...

    def kill_broker(self, data_dir: Path) -> None: ...

    def free_port(self) -> int: ...


def broker_module() -> BrokerModule:
    module = sys.modules.get(MODULE_NAME)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE_NAME, BROKER_PY)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {BROKER_PY}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[MODULE_NAME]
            raise
    return cast(BrokerModule, module)


def free_port() -> int:
    return broker_module().free_port()


def _port_pair() -> tuple[int, int]:
    port, controller = free_port(), free_port()
    while controller == port:
        controller = free_port()
    return port, controller


@dataclass(frozen=True)
class SingleBroker:
    """A single-node broker in ``data_dir`` that may be stopped and started again."""

    data_dir: Path
    port: int
    controller_port: int
    libs_dir: Path = LIBS_DIR

    @classmethod
    def on_free_ports(cls, data_dir: Path, libs_dir: Path = LIBS_DIR) -> "SingleBroker":
        return cls(data_dir, *_port_pair(), libs_dir)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        b = broker_module()
        await asyncio.to_thread(
            b.start_broker,
            self.data_dir,
            self.port,
            self.controller_port,
            self.libs_dir,
            START_TIMEOUT_S,
        )

    async def stop(self) -> None:
        """SIGTERM, as an orderly broker restart would."""
        await asyncio.to_thread(broker_module().stop_broker, self.data_dir)


@dataclass(frozen=True)
class Cluster:
    nodes: tuple[Path, ...]
    bootstrap: str

    @classmethod
    async def start(cls, base_dir: Path, size: int, libs_dir: Path = LIBS_DIR) -> "Cluster":
        ports = [_port_pair() for _ in range(size)]
        b = broker_module()
        nodes = await asyncio.to_thread(
            b.start_cluster, base_dir, ports, libs_dir, CLUSTER_TIMEOUT_S
        )
        return cls(tuple(nodes), ",".join(f"127.0.0.1:{port}" for port, _ in ports))

    async def kill(self, node: int) -> None:
        await asyncio.to_thread(broker_module().kill_broker, self.nodes[node])

    async def stop(self) -> None:
        # A crash stop for every node: a graceful one waits for a quorum that may be gone.
        for node in range(len(self.nodes)):
            await self.kill(node)
