"""Fixtures for the tools: a scriptable receiver on 127.0.0.1 and a simulator runner."""

import io
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from tests.support.receiver import Receiver
from tools.simulate.run import SimulationResult, Simulator
from tools.simulate.settings import SimulatorSettings
from tools.simulate.signing import SigningKey

RunSimulator = Callable[..., Awaitable[tuple[Simulator, SimulationResult]]]


@pytest.fixture(scope="session")
def sim_keys() -> tuple[SigningKey, SigningKey]:
    return SigningKey(), SigningKey()  # RSA key generation is slow: once per session


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    recv = Receiver()
    server = TestServer(recv.app(), host="127.0.0.1")
    await server.start_server()
    yield recv, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
def simulate(sim_keys: tuple[SigningKey, SigningKey]) -> RunSimulator:
    async def run(
        settings: SimulatorSettings, **overrides: Any
    ) -> tuple[Simulator, SimulationResult]:
        simulator = Simulator(replace(settings, **overrides), out=io.StringIO(), keys=sim_keys)
        return simulator, await simulator.run()

    return run
