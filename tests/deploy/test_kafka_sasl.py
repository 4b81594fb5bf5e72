"""Managed-Kafka settings against a real broker: SASL/PLAIN through ``client_options``.

A broker of this test's own (tools.kafka, never the session broker) with two listeners:
PLAINTEXT (what the launcher's readiness check uses) and SASL_PLAINTEXT with one PLAIN user.
The Publisher, whose producer and admin client get their connection settings only from
``client_options``, must publish through the SASL listener with the right password and never
become ready with a wrong one.
"""

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import Secret
from pipeline.publish import Publisher
from pipeline.settings import KafkaSettings, TopicSettings
from pipeline.topics import OutboundRecord, build_topics
from tests.support.kafka import LIBS_DIR, START_TIMEOUT_S
from tools.kafka import ensure_jars, restart_node, stop_broker
from tools.kafka.config import render_config
from tools.process import free_ports

USER, PASSWORD = "datastreams", "sasl-test-password"
JAAS = f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{PASSWORD}";'


@dataclass
class SaslBroker:
    data_dir: Path
    sasl_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"


def sasl_config(data_dir: Path, port: int, sasl_port: int, controller: int) -> str:
    # The launcher's own single-node config (it refuses a template with placeholders left),
    # with a SASL listener added.
    text = render_config(data_dir, port, controller).read_text()
    sasl = f",SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
    text = re.sub(r"^(listeners=PLAINTEXT://\S+?)(,|$)", rf"\1{sasl}\2", text, flags=re.M)
    text = re.sub(r"^(advertised\.listeners=\S+)$", rf"\1{sasl}", text, flags=re.M)
    text = re.sub(
        r"^(listener\.security\.protocol\.map=\S+)$",
        r"\1,SASL_PLAINTEXT:SASL_PLAINTEXT",
        text,
        flags=re.M,
    )
    assert text.count("SASL_PLAINTEXT://") == 2, text
    return text + (
        "\nsasl.enabled.mechanisms=PLAIN\n"
        f"listener.name.sasl_plaintext.plain.sasl.jaas.config={JAAS}\n"
    )


@pytest.fixture
async def sasl_broker(tmp_path: Path) -> AsyncIterator[SaslBroker]:
    data_dir = tmp_path / "kafka-sasl"
    data_dir.mkdir()
    port, sasl_port, controller = free_ports(3)
    (data_dir / "server.properties").write_text(sasl_config(data_dir, port, sasl_port, controller))
    await asyncio.to_thread(ensure_jars, LIBS_DIR)
    # restart_node starts a node whose server.properties is already in its data dir.
    await asyncio.to_thread(restart_node, data_dir, LIBS_DIR, START_TIMEOUT_S)
    try:
        yield SaslBroker(data_dir, sasl_port)
    finally:
        await asyncio.to_thread(stop_broker, data_dir)


def settings(bootstrap: str, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username=USER,
        sasl_password=Secret(password),
        connect_retry_s=0.5,
        publish_timeout_s=5.0,
    )


async def test_publisher_connects_through_sasl_only_with_the_right_password(
    sasl_broker: SaslBroker, caplog: pytest.LogCaptureFixture
) -> None:
    topics = build_topics(
        TopicSettings(prefix=f"sasl-{uuid.uuid4().hex[:8]}", partitions=1), 1 << 20
    )

    wrong = Publisher(settings(sasl_broker.bootstrap, "not-the-password"), topics)
    await wrong.start()
    try:
        with pytest.raises(TimeoutError):
            await wrong.wait_ready(5)
        assert not wrong.ready
        assert "SaslAuthenticationFailed" in caplog.text
    finally:
        await wrong.stop()

    started = time.monotonic()
    async with Publisher(settings(sasl_broker.bootstrap, PASSWORD), topics) as publisher:
        await publisher.wait_ready(30)
        record = OutboundRecord(
            topic=topics.dead_letter.name,
            key=b"k",
            value=b"{}",
            headers=(),
            timestamp_ms=int(time.time() * 1000),
        )
        await publisher.publish([record])
    print(f"SASL/PLAIN publish ready in {time.monotonic() - started:.1f} s")
