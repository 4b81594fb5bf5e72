"""The ingress configuration: read once at the entrypoint, frozen, secrets masked.

Source: the TOML file named by ``DATASTREAMS_CONFIG`` (optional), then environment overrides:
``DATASTREAMS_HOST``, ``DATASTREAMS_PORT``, ``DATASTREAMS_LOG_LEVEL``, ``KAFKA_BOOTSTRAP_SERVERS``,
``DATASTREAMS_TOPIC_PREFIX``, ``DATASTREAMS_PUBLIC_KEY_BASE_URL``.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError
from pipeline.settings import (
    MIB,
    SECONDS,
    KafkaSettings,
    Section,
    TopicSettings,
    read_kafka,
    read_topics,
    table,
)

ADOBE_KEY_HOST = "https://static.adobeioevents.com"
MAX_KEY_CACHE_S = 24 * 3600 * SECONDS  # Adobe: cache each public key for at most 24 h


class Secret:
    """A string that never shows itself in repr, str or logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ServerSettings:
    host: str = "0.0.0.0"  # noqa: S104 - a server behind a load balancer listens on all addresses
    port: int = 8080
    max_body_bytes: int = 8 * MIB
    # After SIGTERM: how long /readyz answers 503 before the listener closes (load balancers need
    # a few probe periods to take the replica out), then how long in-flight deliveries may finish.
    readiness_grace_s: float = 0 * SECONDS
    drain_timeout_s: float = 15 * SECONDS
    log_level: str = "INFO"


@dataclass(frozen=True)
class AdobeIoSettings:
    public_key_base_url: str = ADOBE_KEY_HOST
    verify_signatures: bool = True
    key_cache_ttl_s: float = MAX_KEY_CACHE_S
    key_fetch_timeout_s: float = 3 * SECONDS


@dataclass(frozen=True)
class Tenant:
    munchkin_id: str
    api_tokens: tuple[Secret, ...] = ()
    adobe_client_id: str | None = None


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    adobe_io: AdobeIoSettings = field(default_factory=AdobeIoSettings)
    tenants: tuple[Tenant, ...] = ()


SERVER_KEYS = {
    "host",
    "port",
    "max_body_bytes",
    "readiness_grace_seconds",
    "drain_timeout_seconds",
    "log_level",
}
ADOBE_KEYS = {
    "public_key_base_url",
    "verify_signatures",
    "key_cache_ttl_seconds",
    "key_fetch_timeout_seconds",
}
TENANT_KEYS = {"munchkin_id", "api_tokens", "adobe_client_id"}
TOP_KEYS = {"server", "kafka", "topics", "adobe_io", "tenants"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"Env 'DATASTREAMS_PORT' has value {value!r}. Expected a port 1-65535.")
    return int(value)


def read_server(doc: Mapping[str, Any], env: Mapping[str, str]) -> ServerSettings:
    s = Section("server", table(doc, "server"), SERVER_KEYS)
    d = ServerSettings()
    port_env = env.get("DATASTREAMS_PORT")
    level = env.get("DATASTREAMS_LOG_LEVEL") or s.text("log_level", d.log_level)
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(f"Log level {level!r} is not one of {list(LOG_LEVELS)}.")
    return ServerSettings(
        host=env.get("DATASTREAMS_HOST") or s.text("host", d.host),
        port=_port(port_env) if port_env else s.integer("port", d.port, 0),
        max_body_bytes=s.integer("max_body_bytes", d.max_body_bytes, 1024),
        readiness_grace_s=s.number("readiness_grace_seconds", d.readiness_grace_s),
        drain_timeout_s=s.number("drain_timeout_seconds", d.drain_timeout_s),
        log_level=level.upper(),
    )


def read_adobe_io(doc: Mapping[str, Any], env: Mapping[str, str]) -> AdobeIoSettings:
    s = Section("adobe_io", table(doc, "adobe_io"), ADOBE_KEYS)
    d = AdobeIoSettings()
    base = env.get("DATASTREAMS_PUBLIC_KEY_BASE_URL") or s.text(
        "public_key_base_url", d.public_key_base_url
    )
    if not base.startswith(("https://", "http://")):
        raise ConfigError(
            f"Config 'adobe_io.public_key_base_url' has value {base!r}. Expected a URL."
        )
    ttl = s.number("key_cache_ttl_seconds", d.key_cache_ttl_s, 1.0)
    if ttl > MAX_KEY_CACHE_S:
        raise ConfigError(
            f"Config 'adobe_io.key_cache_ttl_seconds' is {ttl}; Adobe allows <= 86400."
        )
    return AdobeIoSettings(
        public_key_base_url=base.rstrip("/"),
        verify_signatures=s.flag("verify_signatures", d.verify_signatures),
        key_cache_ttl_s=ttl,
        key_fetch_timeout_s=s.number("key_fetch_timeout_seconds", d.key_fetch_timeout_s, 0.1),
    )


def read_tenants(doc: Mapping[str, Any]) -> tuple[Tenant, ...]:
    raw = doc.get("tenants", [])
    if not isinstance(raw, list):
        raise ConfigError("Config 'tenants' must be an array of tables ([[tenants]]).")
    tenants = []
    for i, values in enumerate(raw):
        if not isinstance(values, Mapping):
            raise ConfigError(f"Config 'tenants[{i}]' must be a table.")
        s = Section(f"tenants[{i}]", values, TENANT_KEYS)
        munchkin = s.text("munchkin_id", "")
        if not munchkin:
            raise ConfigError(f"Config 'tenants[{i}].munchkin_id' is required.")
        client_id = values.get("adobe_client_id")
        tenants.append(
            Tenant(
                munchkin_id=munchkin,
                api_tokens=tuple(Secret(t) for t in s.texts("api_tokens")),
                adobe_client_id=None if client_id is None else s.text("adobe_client_id", ""),
            )
        )
    _check_unique(tenants)
    return tuple(tenants)


def _check_unique(tenants: list[Tenant]) -> None:
    munchkins = [t.munchkin_id for t in tenants]
    if len(set(munchkins)) != len(munchkins):
        raise ConfigError("Config 'tenants': a munchkin_id appears more than once.")
    tokens = [tok for t in tenants for tok in t.api_tokens]
    if len(set(tokens)) != len(tokens):
        raise ConfigError("Config 'tenants': an api token is given more than once.")
    if any(len(tok.reveal()) < 16 for tok in tokens):
        raise ConfigError("Config 'tenants': api tokens must be at least 16 characters long.")


def parse_settings(doc: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"Config has unknown section(s) {unknown}; valid: {sorted(TOP_KEYS)}")
    return Settings(
        server=read_server(doc, env),
        kafka=read_kafka(doc, env),
        topics=read_topics(doc, env),
        adobe_io=read_adobe_io(doc, env),
        tenants=read_tenants(doc),
    )


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read the file named by DATASTREAMS_CONFIG (if any) and apply environment overrides."""
    path = env.get("DATASTREAMS_CONFIG")
    doc: dict[str, Any] = {}
    if path:
        try:
            doc = tomllib.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"DATASTREAMS_CONFIG names {path!r}, which does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"DATASTREAMS_CONFIG file {path!r} is not valid TOML: {exc}") from exc
    return parse_settings(doc, env)
