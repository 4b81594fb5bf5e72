"""The ingress configuration: read once at the entrypoint, frozen, secrets masked.

Source: the TOML file named by ``DATASTREAMS_CONFIG`` (optional), then environment overrides:
``DATASTREAMS_HOST``, ``DATASTREAMS_PORT``, ``DATASTREAMS_LOG_LEVEL``, ``KAFKA_BOOTSTRAP_SERVERS``,
``DATASTREAMS_TOPIC_PREFIX``, ``DATASTREAMS_PUBLIC_KEY_BASE_URL``. Secret values may be
``env:NAME`` or ``file:/path`` references (ingest/secrets.py).
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.tenant_settings import OAuthClientSettings, Tenant, read_oauth_client, read_tenants
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
# orjson refuses to encode deeper than 254 levels; the envelope adds two.
MAX_JSON_DEPTH = 200


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
    # Closes connections that send no complete request (slow headers included) or sit idle. Keep
    # it above the load balancer's idle timeout (AWS ALB: 60 s) so the LB closes first.
    idle_timeout_s: float = 75 * SECONDS
    body_timeout_s: float = 15 * SECONDS  # the whole body must arrive within this, else 408
    # More at once are shed with 503, never queued: admitted deliveries share one core, so too
    # many only starve each other past the publish timeout (measured by `make bench`).
    max_concurrent_deliveries: int = 64
    # Parsed JSON takes several times its body size: this bounds the ingress' memory.
    max_in_flight_body_bytes: int = 32 * MIB
    max_events_per_delivery: int = 1000  # Adobe sends ≤ 20, the direct push ≤ 500
    max_json_depth: int = 32
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None  # asks clients for a certificate (optional mTLS)


@dataclass(frozen=True)
class LimitSettings:
    """Per-credential token buckets: a tenant's token, OAuth client, or Adobe registration.

    Sized for Marketo's cadence: the direct push sends up to 500 events every 2 s per
    subscription; Adobe I/O batches up to 20 events per request.
    """

    events_per_s: float = 2000.0
    events_burst: int = 10_000
    deliveries_per_s: float = 50.0
    deliveries_burst: int = 200


@dataclass(frozen=True)
class AdobeIoSettings:
    public_key_base_url: str = ADOBE_KEY_HOST
    verify_signatures: bool = True
    key_cache_ttl_s: float = MAX_KEY_CACHE_S
    key_fetch_timeout_s: float = 3 * SECONDS
    # With server.tls_client_ca_file: Adobe deliveries must present a certificate whose subject
    # common name is this (Adobe keeps CN and SAN across renewals).
    client_cert_cn: str | None = None


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    adobe_io: AdobeIoSettings = field(default_factory=AdobeIoSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    oauth: OAuthClientSettings = field(default_factory=OAuthClientSettings)
    tenants: tuple[Tenant, ...] = ()


SERVER_KEYS = {
    "host",
    "port",
    "max_body_bytes",
    "readiness_grace_seconds",
    "drain_timeout_seconds",
    "log_level",
    "idle_timeout_seconds",
    "body_timeout_seconds",
    "max_concurrent_deliveries",
    "max_in_flight_body_bytes",
    "max_events_per_delivery",
    "max_json_depth",
    "tls_cert_file",
    "tls_key_file",
    "tls_client_ca_file",
}
ADOBE_KEYS = {
    "public_key_base_url",
    "verify_signatures",
    "key_cache_ttl_seconds",
    "key_fetch_timeout_seconds",
    "client_cert_cn",
}
LIMIT_KEYS = {"events_per_second", "events_burst", "deliveries_per_second", "deliveries_burst"}
TOP_KEYS = {"server", "kafka", "topics", "adobe_io", "limits", "oauth", "tenants"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"Env 'DATASTREAMS_PORT' has value {value!r}. Expected a port 1-65535.")
    return int(value)


def _file(s: Section, values: Mapping[str, Any], key: str) -> str | None:
    if key not in values:
        return None
    path = s.text(key, "")
    if not Path(path).is_file():
        raise ConfigError(f"Config '{s.name}.{key}' names {path!r}, which is not a file.")
    return path


def read_server(doc: Mapping[str, Any], env: Mapping[str, str]) -> ServerSettings:
    values = table(doc, "server")
    s = Section("server", values, SERVER_KEYS)
    d = ServerSettings()
    port_env = env.get("DATASTREAMS_PORT")
    level = env.get("DATASTREAMS_LOG_LEVEL") or s.text("log_level", d.log_level)
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(f"Log level {level!r} is not one of {list(LOG_LEVELS)}.")
    depth = s.integer("max_json_depth", d.max_json_depth, 4)
    if depth > MAX_JSON_DEPTH:
        raise ConfigError(f"Config 'server.max_json_depth' is {depth}; at most {MAX_JSON_DEPTH}.")
    server = ServerSettings(
        host=env.get("DATASTREAMS_HOST") or s.text("host", d.host),
        port=_port(port_env) if port_env else s.integer("port", d.port, 0),
        max_body_bytes=s.integer("max_body_bytes", d.max_body_bytes, 1024),
        readiness_grace_s=s.number("readiness_grace_seconds", d.readiness_grace_s),
        drain_timeout_s=s.number("drain_timeout_seconds", d.drain_timeout_s),
        log_level=level.upper(),
        idle_timeout_s=s.number("idle_timeout_seconds", d.idle_timeout_s, 1),
        body_timeout_s=s.number("body_timeout_seconds", d.body_timeout_s, 0.1),
        max_concurrent_deliveries=s.integer(
            "max_concurrent_deliveries", d.max_concurrent_deliveries, 1
        ),
        max_in_flight_body_bytes=s.integer(
            "max_in_flight_body_bytes", d.max_in_flight_body_bytes, 1024
        ),
        max_events_per_delivery=s.integer("max_events_per_delivery", d.max_events_per_delivery, 1),
        max_json_depth=depth,
        tls_cert_file=_file(s, values, "tls_cert_file"),
        tls_key_file=_file(s, values, "tls_key_file"),
        tls_client_ca_file=_file(s, values, "tls_client_ca_file"),
    )
    if bool(server.tls_cert_file) != bool(server.tls_key_file):
        raise ConfigError("Config 'server': tls_cert_file and tls_key_file go together.")
    if server.tls_client_ca_file and not server.tls_cert_file:
        raise ConfigError(
            "Config 'server.tls_client_ca_file' needs tls_cert_file and tls_key_file."
        )
    return server


def read_adobe_io(doc: Mapping[str, Any], env: Mapping[str, str]) -> AdobeIoSettings:
    values = table(doc, "adobe_io")
    s = Section("adobe_io", values, ADOBE_KEYS)
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
        client_cert_cn=s.text("client_cert_cn", "") if "client_cert_cn" in values else None,
    )


def read_limits(doc: Mapping[str, Any]) -> LimitSettings:
    s = Section("limits", table(doc, "limits"), LIMIT_KEYS)
    d = LimitSettings()
    return LimitSettings(
        events_per_s=s.number("events_per_second", d.events_per_s, 0.001),
        events_burst=s.integer("events_burst", d.events_burst, 1),
        deliveries_per_s=s.number("deliveries_per_second", d.deliveries_per_s, 0.001),
        deliveries_burst=s.integer("deliveries_burst", d.deliveries_burst, 1),
    )


def parse_settings(doc: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"Config has unknown section(s) {unknown}; valid: {sorted(TOP_KEYS)}")
    settings = Settings(
        server=read_server(doc, env),
        kafka=read_kafka(doc, env),
        topics=read_topics(doc, env),
        adobe_io=read_adobe_io(doc, env),
        limits=read_limits(doc),
        oauth=read_oauth_client(doc),
        tenants=read_tenants(doc, env),
    )
    if settings.adobe_io.client_cert_cn and not settings.server.tls_client_ca_file:
        raise ConfigError("Config 'adobe_io.client_cert_cn' needs server.tls_client_ca_file.")
    return settings


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
