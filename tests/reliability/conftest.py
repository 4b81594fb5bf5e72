"""A broker of a test's own, which the test may stop and start again (the session broker must
stay up for everyone else)."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kafka_fixture import LIBS_DIR, START_TIMEOUT_S, load_broker_module


@dataclass
class OwnBroker:
    data_dir: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        broker = load_broker_module()
        await asyncio.to_thread(
            broker.start_broker,
            self.data_dir,
            self.port,
            self.controller_port,
            LIBS_DIR,
            START_TIMEOUT_S,
        )

    async def stop(self) -> None:
        await asyncio.to_thread(load_broker_module().stop_broker, self.data_dir)


@pytest.fixture
async def own_broker(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[OwnBroker]:
    # Depends on kafka_bootstrap only so the jars are fetched and a broker is known to start.
    broker = load_broker_module()
    port = broker.free_port()
    controller = broker.free_port()
    own = OwnBroker(tmp_path / "kafka", port, controller)
    own.data_dir.mkdir()
    await own.start()
    yield own
    await own.stop()
