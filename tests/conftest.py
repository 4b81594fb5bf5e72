"""Shared fixtures: the session's real Kafka broker, Adobe signing keys, and running ingresses."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord

from ingest.app import RUNNER_OPTIONS, create_app
from ingest.intake import Admission
from ingest.keys import PUBLISHER, TOPICS
from ingest.secrets import ApiToken
from ingest.settings import AdobeIoSettings, ServerSettings, Settings
from ingest.tenant_settings import Tenant
from pipeline.admin import partitions_of
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import Topics
from tests import payloads as p
from tests.signing import KeyServer, SigningKey, signed_headers

pytest_plugins = ["tests.kafka_fixture"]

TOKEN = "tenant-one-token-0123456789"
SANDBOX_TOKEN = "sandbox-token-0123456789"
OTHER_TOKEN = "other-tenant-token-0123456789"
OTHER_MUNCHKIN = "999-OTH-999"
OTHER_CLIENT = "other-client-id"


@dataclass
class Signer:
    first: SigningKey
    second: SigningKey
    server: KeyServer
    base_url: str

    def headers(self, body: bytes) -> dict[str, str]:
        return signed_headers(body, self.first, self.second)


@pytest.fixture(scope="session")
async def signer() -> AsyncIterator[Signer]:
    first, second = SigningKey(), SigningKey()
    server = KeyServer(first, second)
    http = TestServer(server.app, host="127.0.0.1")
    await http.start_server()
    yield Signer(first, second, server, str(http.make_url("")).rstrip("/"))
    await http.close()


def ingress_settings(bootstrap: str, key_base_url: str, **overrides: Any) -> Settings:
    prefix = f"test-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=0),
        kafka=KafkaSettings(bootstrap_servers=bootstrap, connect_retry_s=0.5),
        topics=TopicSettings(prefix=prefix, partitions=3),
        adobe_io=AdobeIoSettings(public_key_base_url=key_base_url),
        tenants=(
            Tenant(p.MUNCHKIN, (ApiToken.from_plain(TOKEN),), p.CLIENT_ID),
            Tenant(p.SANDBOX, (ApiToken.from_plain(SANDBOX_TOKEN),), p.CLIENT_ID),
            Tenant(OTHER_MUNCHKIN, (ApiToken.from_plain(OTHER_TOKEN),), OTHER_CLIENT),
        ),
    )
    return replace(settings, **overrides)


async def read_topic(bootstrap: str, topic: str, timeout_s: float = 15.0) -> list[ConsumerRecord]:  # type: ignore[type-arg]
    """Every record on the topic, read from the start up to its current end offsets."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        partitions = [TopicPartition(topic, n) for n in await partitions_of(admin, topic)]
    finally:
        await admin.close()
    assert partitions, f"topic {topic} does not exist"
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        out: list[ConsumerRecord] = []  # type: ignore[type-arg]
        async with asyncio.timeout(timeout_s):
            while sum(end.values()) > len(out):
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    out.extend(records)
        return out
    finally:
        await consumer.stop()


@dataclass
class Ingress:
    client: TestClient  # type: ignore[type-arg]
    topics: Topics
    bootstrap: str
    signer: Signer
    settings: Settings
    consumers: list[AIOKafkaConsumer] = field(default_factory=list)

    @property
    def admission(self) -> Admission:
        """What the gate admits with this ingress' configuration (for redrive and the like)."""
        return Admission.of(self.settings.tenants, self.settings.server)

    async def post_adobe(self, doc: Any, **headers: str) -> Any:
        body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        return await self.client.post(
            "/v1/adobe-io", data=body, headers={**self.signer.headers(body), **headers}
        )

    async def post_push(self, doc: Any, token: str = TOKEN, **headers: str) -> Any:
        body = doc if isinstance(doc, bytes) else orjson.dumps(doc)
        all_headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return await self.client.post("/v1/lead-activity", data=body, headers=all_headers | headers)

    async def records(self, topic: str, timeout_s: float = 15.0) -> list[ConsumerRecord]:  # type: ignore[type-arg]
        return await read_topic(self.bootstrap, topic, timeout_s)

    async def total_published(self) -> int:
        counts = [len(await self.records(t.name)) for t in self.topics.all()]
        return sum(counts)


IngressFactory = Callable[..., Awaitable[Ingress]]


@pytest.fixture
async def make_ingress(kafka_bootstrap: str, signer: Signer) -> AsyncIterator[IngressFactory]:
    started: list[TestClient] = []  # type: ignore[type-arg]

    async def start(wait_ready: bool = True, **overrides: Any) -> Ingress:
        bootstrap = overrides.pop("bootstrap", kafka_bootstrap)
        settings = ingress_settings(bootstrap, signer.base_url, **overrides)
        app = create_app(settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(**RUNNER_OPTIONS)  # as serve() runs it: the app decodes bodies
        client = TestClient(server)
        await client.start_server()
        started.append(client)
        if wait_ready:
            await app[PUBLISHER].wait_ready(30)
        return Ingress(client, app[TOPICS], bootstrap, signer, settings)

    yield start
    for client in started:
        await client.close()


@pytest.fixture
async def ingress(make_ingress: IngressFactory) -> Ingress:
    return await make_ingress()
