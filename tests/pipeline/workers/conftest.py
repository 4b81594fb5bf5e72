"""Fixtures of the worker tests: fake Marketo and webhook servers (real aiohttp apps), a client
session to reach them."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.pipeline.workers.fakes import (
    SIGNING_SECRET,
    FakeMarketo,
    FakeWebhook,
    IdempotentReceiver,
)


@pytest.fixture
async def fake_marketo() -> AsyncIterator[tuple[FakeMarketo, str]]:
    fake = FakeMarketo()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("")).rstrip("/")
    await server.close()


@pytest.fixture
async def fake_webhook() -> AsyncIterator[tuple[FakeWebhook, str]]:
    fake = FakeWebhook()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/hook"))
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[IdempotentReceiver, str]]:
    fake = IdempotentReceiver(secret=SIGNING_SECRET)
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/hook"))
    await server.close()
