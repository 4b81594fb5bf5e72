"""Kafka and topic settings, and the typed readers every settings module uses.

Settings are frozen dataclasses built once at the entrypoint from the TOML file and the
environment; nothing else in the code reads ``os.environ``. Defaults carry their units in names.
"""

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiokafka.helpers import create_ssl_context

from pipeline.errors import ConfigError

SECONDS = 1.0
HOURS = 3600 * SECONDS
MIB = 1024 * 1024

T = TypeVar("T")


class Section:
    """One TOML table, read key by key with errors that name the key, the value and the need."""

    def __init__(self, name: str, values: Mapping[str, Any], known: set[str]) -> None:
        self.name = name
        self._values = values
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Config [{name}] has unknown key(s) {unknown}; valid keys: {sorted(known)}"
            )

    def _get(self, key: str, default: T, kinds: tuple[type, ...], expected: str) -> T:
        value = self._values.get(key, default)
        if isinstance(value, bool) and bool not in kinds:
            value = None  # bool is an int in Python; never accept it for a number
        if not isinstance(value, kinds):
            raise ConfigError(
                f"Config '{self.name}.{key}' has value {self._values.get(key)!r}. "
                f"Expected {expected}."
            )
        return value  # type: ignore[return-value]

    def text(self, key: str, default: str) -> str:
        return self._get(key, default, (str,), "a string")

    def flag(self, key: str, default: bool) -> bool:
        return self._get(key, default, (bool,), "true or false")

    def integer(self, key: str, default: int, minimum: int = 0) -> int:
        value = self._get(key, default, (int,), "an integer")
        if value < minimum:
            raise ConfigError(
                f"Config '{self.name}.{key}' has value {value}. Expected >= {minimum}."
            )
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = float(self._get(key, default, (int, float), "a number"))
        if value < minimum:
            raise ConfigError(
                f"Config '{self.name}.{key}' has value {value}. Expected >= {minimum}."
            )
        return value

    def texts(self, key: str) -> list[str]:
        value: list[str] = self._get(key, [], (list,), "a list of strings")
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"Config '{self.name}.{key}' must be a list of strings.")
        return value

    def choice(self, key: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(key, default)
        if value not in options:
            raise ConfigError(
                f"Config '{self.name}.{key}' has value {value!r}. Expected one of {list(options)}."
            )
        return value


def table(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"Config [{name}] must be a table, got {type(value).__name__}.")
    return value


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "datastreams"
    # Adobe I/O Events gives up on a delivery after 10 s, the direct push after 20 s; answering 503
    # well before that makes them retry instead of counting a timeout.
    publish_timeout_s: float = 5 * SECONDS
    linger_ms: int = 2
    max_batch_bytes: int = 1 * MIB
    # Larger than the biggest accepted body so that no single event can be refused by the broker.
    max_record_bytes: int = 10 * MIB
    compression_type: str = "none"
    connect_retry_s: float = 2 * SECONDS
    health_interval_s: float = 2 * SECONDS
    # Managed Kafka (Confluent Cloud, MSK, Aiven, Event Hubs): see client_options().
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)  # resolved env:/file: reference
    ssl_cafile: str | None = None  # None: the system's CA bundle
    ssl_certfile: str | None = None  # client certificate (mutual TLS, e.g. Aiven)
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True


@dataclass(frozen=True)
class TopicSettings:
    prefix: str = "marketo"
    partitions: int = 6
    replication_factor: int = 1
    # Marketo keeps undelivered data for 7 days, so the topics keep at least as long.
    retention_hours: int = 7 * 24
    min_insync_replicas: int | None = None
    create: bool = True


KAFKA_KEYS = {
    "bootstrap_servers",
    "client_id",
    "publish_timeout_seconds",
    "linger_ms",
    "max_batch_bytes",
    "max_record_bytes",
    "compression_type",
    "connect_retry_seconds",
    "health_interval_seconds",
    "security_protocol",
    "sasl_mechanism",
    "sasl_username",
    "sasl_password",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_key_password",
    "ssl_check_hostname",
}
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# GSSAPI and OAUTHBEARER need a Kerberos library or a token provider object: not configurable here.
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
TOPIC_KEYS = {
    "prefix",
    "partitions",
    "replication_factor",
    "retention_hours",
    "min_insync_replicas",
    "create",
}


def read_kafka(doc: Mapping[str, Any], env: Mapping[str, str]) -> KafkaSettings:
    values = table(doc, "kafka")
    s = Section("kafka", values, KAFKA_KEYS)
    d = KafkaSettings()
    kafka = KafkaSettings(
        bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS")
        or s.text("bootstrap_servers", d.bootstrap_servers),
        client_id=s.text("client_id", d.client_id),
        publish_timeout_s=s.number("publish_timeout_seconds", d.publish_timeout_s, 0.1),
        linger_ms=s.integer("linger_ms", d.linger_ms),
        max_batch_bytes=s.integer("max_batch_bytes", d.max_batch_bytes, 1024),
        max_record_bytes=s.integer("max_record_bytes", d.max_record_bytes, 1024),
        compression_type=s.choice(
            "compression_type", d.compression_type, ("none", "gzip", "snappy", "lz4", "zstd")
        ),
        connect_retry_s=s.number("connect_retry_seconds", d.connect_retry_s, 0.1),
        health_interval_s=s.number("health_interval_seconds", d.health_interval_s, 0.1),
        security_protocol=s.choice("security_protocol", d.security_protocol, SECURITY_PROTOCOLS),
        sasl_mechanism=s.choice("sasl_mechanism", d.sasl_mechanism, SASL_MECHANISMS),
        sasl_username=s.text("sasl_username", "") if "sasl_username" in values else None,
        sasl_password=_secret(s, values, "sasl_password", env),
        ssl_cafile=_existing_file(s, values, "ssl_cafile"),
        ssl_certfile=_existing_file(s, values, "ssl_certfile"),
        ssl_keyfile=_existing_file(s, values, "ssl_keyfile"),
        ssl_key_password=_secret(s, values, "ssl_key_password", env),
        ssl_check_hostname=s.flag("ssl_check_hostname", d.ssl_check_hostname),
    )
    _check_security(kafka)
    return kafka


def _secret(s: Section, values: Mapping[str, Any], key: str, env: Mapping[str, str]) -> str | None:
    """A secret written literally, as ``env:NAME`` or as ``file:/path`` (e.g. a mounted Secret).

    The same reference forms as ``ingest/secrets.py``; errors name the key, never the value.
    """
    if key not in values:
        return None
    ref = s.text(key, "")
    where = f"{s.name}.{key}"
    if ref.startswith("env:"):
        if ref[4:] not in env:
            raise ConfigError(f"Config '{where}' refers to environment variable {ref[4:]}, unset.")
        return env[ref[4:]]
    if ref.startswith("file:"):
        try:
            return Path(ref[5:]).read_text("utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ConfigError(
                f"Config '{where}' refers to file {ref[5:]!r}: {exc.strerror}"
            ) from exc
    return ref


def _existing_file(s: Section, values: Mapping[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    path = s.text(key, "")
    if not Path(path).is_file():
        raise ConfigError(f"Config '{s.name}.{key}' names {path!r}, which is not a file.")
    return path


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
        options["sasl_plain_password"] = kafka.sasl_password
    return options


def _ssl_context(kafka: KafkaSettings) -> ssl.SSLContext:
    context: ssl.SSLContext = create_ssl_context(
        cafile=kafka.ssl_cafile,
        certfile=kafka.ssl_certfile,
        keyfile=kafka.ssl_keyfile,
        password=kafka.ssl_key_password,
    )
    context.check_hostname = kafka.ssl_check_hostname
    return context


def read_topics(doc: Mapping[str, Any], env: Mapping[str, str]) -> TopicSettings:
    values = table(doc, "topics")
    s = Section("topics", values, TOPIC_KEYS)
    d = TopicSettings()
    min_isr = values.get("min_insync_replicas")
    return TopicSettings(
        prefix=env.get("DATASTREAMS_TOPIC_PREFIX") or s.text("prefix", d.prefix),
        partitions=s.integer("partitions", d.partitions, 1),
        replication_factor=s.integer("replication_factor", d.replication_factor, 1),
        retention_hours=s.integer("retention_hours", d.retention_hours, 1),
        min_insync_replicas=None if min_isr is None else s.integer("min_insync_replicas", 1, 1),
        create=s.flag("create", d.create),
    )
