"""The ingress under test: Adobe signing keys served on loopback, the settings of a test
ingress (three tenants, topics under a fresh prefix), and running ingresses on the session's
broker. A pytest plugin, registered by the root conftest."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from ingest.app import RUNNER_OPTIONS, create_app
from ingest.intake import Admission
from ingest.keys import PUBLISHER, TOPICS
from ingest.secrets import ApiToken
from ingest.settings import AdobeIoSettings, ServerSettings, Settings
from ingest.tenant_settings import Tenant
from pipeline.reader import count_records
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import Topics
from tests.support import payloads as p
from tests.support.kafka import READ_TIMEOUT_S, read_topic
from tools.simulate.signing import KeyServer, SigningKey, signed_headers

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


def ingress_config_file(
    folder: Path, bootstrap: str, prefix: str, *, token: str = TOKEN, kafka: str = ""
) -> Path:
    """``datastreams.toml`` for an ingress process: this broker, a fresh prefix of 2 partitions,
    one tenant and its ``token``; ``kafka`` adds lines to ``[kafka]``, which here retries fast."""
    path = folder / "datastreams.toml"
    path.write_text(
        f"""
[kafka]
bootstrap_servers = "{bootstrap}"
connect_retry_seconds = 0.5
health_interval_seconds = 0.5
{kafka}
[topics]
prefix = "{prefix}"
partitions = 2
[[tenants]]
munchkin_id = "{p.MUNCHKIN}"
api_tokens = ["{token}"]
"""
    )
    return path


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

    async def records(
        self, topic: str, timeout_s: float = READ_TIMEOUT_S
    ) -> list[ConsumerRecord[Any, Any]]:
        return await read_topic(self.bootstrap, topic, timeout_s)

    async def total_published(self) -> int:
        """Records on every topic the ingress writes (by offsets: one client, nothing read)."""
        kafka = KafkaSettings(bootstrap_servers=self.bootstrap)
        return await count_records(kafka, [t.name for t in self.topics.all()])


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


async def answer(resp: Any) -> tuple[int, dict[str, Any]]:
    """A response's status and JSON body."""
    return resp.status, await resp.json()


async def raw_request(ingress: Ingress, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request written byte for byte (aiohttp's client refuses hostile headers);
    the status and the body of the answer."""
    server = ingress.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]
