"""Kafka and topic settings, shared by every process that speaks Kafka.

Read with the configuration toolkit (``pipeline.config``): each key is declared once, on its
field. Passwords are ``Secret``s (``env:``/``file:`` references resolved at startup) and are
revealed only to the Kafka client, in ``client_options``.
"""

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.helpers import create_ssl_context

from pipeline.config import (
    HOURS,
    MIB,
    SECONDS,
    Secret,
    existing_file,
    read_section,
    setting,
    table,
)
from pipeline.errors import ConfigError

__all__ = [
    "HOURS",
    "MIB",
    "SECONDS",
    "KafkaSettings",
    "TopicSettings",
    "client_options",
    "table",
]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# GSSAPI and OAUTHBEARER need a Kerberos library or a token provider object: not configurable here.
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
COMPRESSION_TYPES = ("none", "gzip", "snappy", "lz4", "zstd")


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = setting("127.0.0.1:9092", env="KAFKA_BOOTSTRAP_SERVERS")
    client_id: str = setting("datastreams")
    # Adobe I/O Events gives up on a delivery after 10 s, the direct push after 20 s; answering 503
    # well before that makes them retry instead of counting a timeout.
    publish_timeout_s: float = setting(5 * SECONDS, minimum=0.1)
    linger_ms: int = setting(2, minimum=0)
    max_batch_bytes: int = setting(1 * MIB, minimum=1024)
    # Larger than the biggest accepted body so that no single event can be refused by the broker.
    max_record_bytes: int = setting(10 * MIB, minimum=1024)
    compression_type: str = setting("none", choices=COMPRESSION_TYPES)
    connect_retry_s: float = setting(2 * SECONDS, minimum=0.1)
    health_interval_s: float = setting(2 * SECONDS, minimum=0.1)
    # Managed Kafka (Confluent Cloud, MSK, Aiven, Event Hubs): see client_options().
    security_protocol: str = setting("PLAINTEXT", choices=SECURITY_PROTOCOLS)
    sasl_mechanism: str = setting("PLAIN", choices=SASL_MECHANISMS)
    sasl_username: str | None = setting(None)
    sasl_password: Secret | None = setting(None)
    ssl_cafile: str | None = setting(None, parse=existing_file)  # None: the system's CA bundle
    ssl_certfile: str | None = setting(None, parse=existing_file)  # client certificate (mTLS)
    ssl_keyfile: str | None = setting(None, parse=existing_file)
    ssl_key_password: Secret | None = setting(None)
    ssl_check_hostname: bool = setting(True)


@dataclass(frozen=True)
class TopicSettings:
    prefix: str = setting("marketo", env="DATASTREAMS_TOPIC_PREFIX")
    partitions: int = setting(6, minimum=1)
    replication_factor: int = setting(1, minimum=1)
    # Marketo keeps undelivered data for 7 days, so the topics keep at least as long.
    retention_hours: int = setting(7 * 24, minimum=1)
    min_insync_replicas: int | None = setting(None, minimum=1)
    create: bool = setting(True)


def read_kafka(doc: Mapping[str, Any], env: Mapping[str, str]) -> KafkaSettings:
    kafka = read_section(KafkaSettings, "kafka", table(doc, "kafka"), env)
    _check_security(kafka)
    return kafka


def _check_security(kafka: KafkaSettings) -> None:
    sasl = kafka.security_protocol.startswith("SASL_")
    tls = kafka.security_protocol in ("SSL", "SASL_SSL")
    if sasl and not (kafka.sasl_username and kafka.sasl_password):
        raise ConfigError(
            f"Config 'kafka.security_protocol' is {kafka.security_protocol!r}: "
            "set kafka.sasl_username and kafka.sasl_password."
        )
    if not sasl and (kafka.sasl_username is not None or kafka.sasl_password is not None):
        raise ConfigError(
            "Config 'kafka.sasl_username'/'sasl_password' need security_protocol "
            "'SASL_SSL' or 'SASL_PLAINTEXT'."
        )
    ssl_files = (kafka.ssl_cafile, kafka.ssl_certfile, kafka.ssl_keyfile)
    if not tls and any(ssl_files):
        raise ConfigError(
            "Config 'kafka.ssl_*' files need security_protocol 'SSL' or 'SASL_SSL', "
            f"not {kafka.security_protocol!r}."
        )
    if kafka.ssl_keyfile and not kafka.ssl_certfile:
        raise ConfigError("Config 'kafka.ssl_keyfile' needs kafka.ssl_certfile.")


def client_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection arguments for every aiokafka client (producer, consumer, admin): one place.

    ``bootstrap_servers`` and the security settings; callers add their own ``client_id`` and
    tuning. With ``SSL``/``SASL_SSL`` a fresh ``SSLContext`` verifies the broker against
    ``ssl_cafile`` (or the system CAs) and may present a client certificate.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(kafka)
    if kafka.security_protocol.startswith("SASL_"):
        options["sasl_mechanism"] = kafka.sasl_mechanism
        options["sasl_plain_username"] = kafka.sasl_username
        password = kafka.sasl_password
        options["sasl_plain_password"] = password.reveal() if password else None
    return options


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    context: ssl.SSLContext = create_ssl_context(
        cafile=kafka.ssl_cafile,
        certfile=kafka.ssl_certfile,
        keyfile=kafka.ssl_keyfile,
        password=kafka.ssl_key_password.reveal() if kafka.ssl_key_password else None,
    )
    context.check_hostname = kafka.ssl_check_hostname
    return context


def read_topics(doc: Mapping[str, Any], env: Mapping[str, str]) -> TopicSettings:
    return read_section(TopicSettings, "topics", table(doc, "topics"), env)
