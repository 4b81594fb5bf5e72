"""The ingress configuration: read once at the entrypoint, frozen, secrets masked.

Source: the TOML file named by ``DATASTREAMS_CONFIG`` (optional), then environment overrides
(each declared on its field: ``DATASTREAMS_HOST``, ``DATASTREAMS_PORT``, ``DATASTREAMS_LOG_LEVEL``,
``KAFKA_BOOTSTRAP_SERVERS``, ``DATASTREAMS_TOPIC_PREFIX``, ``DATASTREAMS_PUBLIC_KEY_BASE_URL``).
Secret values may be ``env:NAME`` or ``file:/path`` references (``pipeline.config``).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.recover.settings import (
    JournalRegistration,
    RecoverySettings,
    read_journal,
    read_recovery,
)
from ingest.tenant_settings import OAuthClientSettings, Tenant, read_oauth_client, read_tenants
from pipeline.config import (
    HOURS,
    MIB,
    SECONDS,
    check_sections,
    existing_file,
    http_url,
    load_toml,
    log_level,
    read_section,
    setting,
    table,
)
from pipeline.errors import ConfigError
from pipeline.marketo.settings import MarketoInstance, read_marketo
from pipeline.settings import KafkaSettings, TopicSettings, read_kafka, read_topics

ADOBE_KEY_HOST = "https://static.adobeioevents.com"
MAX_KEY_CACHE_S = 24 * HOURS  # Adobe: cache each public key for at most 24 h
# orjson refuses to encode deeper than 254 levels; the envelope adds two.
MAX_JSON_DEPTH = 200
# Each process holds a producer and its buffers: more than this is a misconfiguration.
MAX_PROCESSES = 64


@dataclass(frozen=True)
class ServerSettings:
    host: str = setting("0.0.0.0", env="DATASTREAMS_HOST")  # noqa: S104 - behind a load balancer
    port: int = setting(8080, minimum=0, maximum=65535, env="DATASTREAMS_PORT")
    # Above 1: that many processes share the port (SO_REUSEPORT), each with its own producer;
    # for VMs. In Kubernetes one process per pod and more pods does the same (docs/deploying.md).
    processes: int = setting(1, minimum=1, maximum=MAX_PROCESSES, env="DATASTREAMS_PROCESSES")
    max_body_bytes: int = setting(8 * MIB, minimum=1024)
    # After SIGTERM: how long /readyz answers 503 before the listener closes (load balancers need
    # a few probe periods to take the replica out), then how long in-flight deliveries may finish.
    readiness_grace_s: float = setting(0 * SECONDS, minimum=0)
    drain_timeout_s: float = setting(15 * SECONDS, minimum=0)
    log_level: str = setting("INFO", env="DATASTREAMS_LOG_LEVEL", parse=log_level)
    # Closes connections that send no complete request (slow headers included) or sit idle. Keep
    # it above the load balancer's idle timeout (AWS ALB: 60 s) so the LB closes first.
    idle_timeout_s: float = setting(75 * SECONDS, minimum=1)
    # The whole body must arrive within this, else 408.
    body_timeout_s: float = setting(15 * SECONDS, minimum=0.1)
    # More at once are shed with 503, never queued: admitted deliveries share one core, so too
    # many only starve each other past the publish timeout (measured by `make bench`).
    max_concurrent_deliveries: int = setting(64, minimum=1)
    # Parsed JSON and the records waiting for Kafka take about five times the body size: this
    # bounds the ingress' memory (docs/performance.md: 8 MiB, 37 pushes of 500, kept 5x load
    # under 200 MB where 32 MiB peaked at 214-244 MB, with no lower throughput).
    max_in_flight_body_bytes: int = setting(8 * MIB, minimum=1024)
    max_events_per_delivery: int = setting(1000, minimum=1)  # Adobe sends ≤ 20, the push ≤ 500
    max_json_depth: int = setting(32, minimum=4, maximum=MAX_JSON_DEPTH)
    tls_cert_file: str | None = setting(None, parse=existing_file)
    tls_key_file: str | None = setting(None, parse=existing_file)
    # Asks clients for a certificate (optional mTLS).
    tls_client_ca_file: str | None = setting(None, parse=existing_file)


@dataclass(frozen=True)
class LimitSettings:
    """Per-credential token buckets: a tenant's token, OAuth client, or Adobe registration.

    Sized for Marketo's cadence: the direct push sends up to 500 events every 2 s per
    subscription; Adobe I/O batches up to 20 events per request.
    """

    events_per_s: float = setting(2000.0, key="events_per_second", minimum=0.001)
    events_burst: int = setting(10_000, minimum=1)
    deliveries_per_s: float = setting(50.0, key="deliveries_per_second", minimum=0.001)
    deliveries_burst: int = setting(200, minimum=1)


@dataclass(frozen=True)
class AdobeIoSettings:
    public_key_base_url: str = setting(
        ADOBE_KEY_HOST, env="DATASTREAMS_PUBLIC_KEY_BASE_URL", parse=http_url
    )
    verify_signatures: bool = setting(True)
    key_cache_ttl_s: float = setting(MAX_KEY_CACHE_S, minimum=1, maximum=MAX_KEY_CACHE_S)
    key_fetch_timeout_s: float = setting(3 * SECONDS, minimum=0.1)
    # With server.tls_client_ca_file: Adobe deliveries must present a certificate whose subject
    # common name is this (Adobe keeps CN and SAN across renewals).
    client_cert_cn: str | None = setting(None)


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    topics: TopicSettings = field(default_factory=TopicSettings)
    adobe_io: AdobeIoSettings = field(default_factory=AdobeIoSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    oauth: OAuthClientSettings = field(default_factory=OAuthClientSettings)
    tenants: tuple[Tenant, ...] = ()
    # The recovery commands' (journal, backfill): unused by the ingress itself.
    journal: tuple[JournalRegistration, ...] = ()
    marketo: tuple[MarketoInstance, ...] = ()
    recovery: RecoverySettings = field(default_factory=RecoverySettings)


SECTIONS = {
    "server", "kafka", "topics", "adobe_io", "limits", "oauth", "tenants",
    "journal", "marketo", "recovery",
}  # fmt: skip


def read_server(doc: Mapping[str, Any], env: Mapping[str, str]) -> ServerSettings:
    server = read_section(ServerSettings, "server", table(doc, "server"), env)
    if bool(server.tls_cert_file) != bool(server.tls_key_file):
        raise ConfigError("Config 'server': tls_cert_file and tls_key_file go together.")
    if server.tls_client_ca_file and not server.tls_cert_file:
        raise ConfigError(
            "Config 'server.tls_client_ca_file' needs tls_cert_file and tls_key_file."
        )
    if server.processes > 1 and server.port == 0:
        # Each process would bind a port of its own choosing: nothing would share it.
        raise ConfigError("Config 'server.processes' above 1 needs a fixed server.port, not 0.")
    return server


def parse_settings(doc: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    check_sections(doc, SECTIONS)
    settings = Settings(
        server=read_server(doc, env),
        kafka=read_kafka(doc, env),
        topics=read_topics(doc, env),
        adobe_io=read_section(AdobeIoSettings, "adobe_io", table(doc, "adobe_io"), env),
        limits=read_section(LimitSettings, "limits", table(doc, "limits"), env),
        oauth=read_oauth_client(doc),
        tenants=read_tenants(doc, env),
        journal=read_journal(doc, env),
        marketo=read_marketo(doc, env),
        recovery=read_recovery(doc, env),
    )
    _check_recovery(settings)
    if settings.adobe_io.client_cert_cn and not settings.server.tls_client_ca_file:
        raise ConfigError("Config 'adobe_io.client_cert_cn' needs server.tls_client_ca_file.")
    return settings


def _check_recovery(settings: Settings) -> None:
    clients = {t.adobe_client_id for t in settings.tenants}
    for registration in settings.journal:
        if registration.client_id not in clients:
            raise ConfigError(
                f"Config 'journal' {registration.name!r}: no [[tenants]] has adobe_client_id "
                f"{registration.client_id!r}, so its events would belong to no tenant."
            )
    tenants = {t.munchkin_id for t in settings.tenants}
    for instance in settings.marketo:
        if instance.munchkin_id not in tenants:
            raise ConfigError(
                f"Config 'marketo': {instance.munchkin_id!r} is not a [[tenants]] munchkin_id."
            )


def load_settings(env: Mapping[str, str]) -> Settings:
    """Read the file named by DATASTREAMS_CONFIG (if any) and apply environment overrides."""
    path = env.get("DATASTREAMS_CONFIG")
    doc = load_toml(Path(path), "DATASTREAMS_CONFIG") if path else {}
    return parse_settings(doc, env)
