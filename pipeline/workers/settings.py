"""Worker configuration: read once at the entrypoint (``datastreams worker``), frozen.

Source: the TOML file named by ``DATASTREAMS_WORKER_CONFIG`` (optional; e.g.
``deploy/workers/worker.toml``) with the same ``[kafka]`` and ``[topics]`` tables as the ingress,
plus ``[worker]``, ``[alerting]``, ``[scoring]`` and ``[[marketo]]``. Each worker reads its own
table (``alerting/settings.py``, ``scoring/settings.py``) and the files it names, relative to the
config file's folder. Environment overrides: ``KAFKA_BOOTSTRAP_SERVERS``,
``DATASTREAMS_TOPIC_PREFIX``, ``DATASTREAMS_WORKER_PORT``, ``DATASTREAMS_LOG_LEVEL``,
``DATASTREAMS_ALERT_WEBHOOK_URL``, and for each Marketo instance the variable its
``client_secret_env`` names.
"""

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.consume.settings import ConsumeSettings
from pipeline.dedup import DEFAULT_CAPACITY, DEFAULT_WINDOW_S, HOUR_S
from pipeline.errors import ConfigError
from pipeline.secrets import Secret, resolve
from pipeline.settings import (
    SECONDS,
    KafkaSettings,
    Section,
    TopicSettings,
    read_kafka,
    read_topics,
    table,
)
from pipeline.workers.alerting.settings import AlertingSettings, read_alerting
from pipeline.workers.files import Files
from pipeline.workers.scoring.settings import ScoringSettings, read_scoring

KINDS = ("alerting", "scoring")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOP_KEYS = {"kafka", "topics", "worker", "alerting", "scoring", "marketo"}


@dataclass(frozen=True)
class MarketoInstance:
    munchkin_id: str
    identity_url: str
    rest_url: str
    client_id: str
    client_secret: Secret
    lists: Mapping[str, int] = field(default_factory=dict)
    timeout_s: float = 10 * SECONDS
    max_attempts: int = 4
    retry_initial_s: float = 1 * SECONDS


@dataclass(frozen=True)
class WorkerSettings:
    kind: str
    kafka: KafkaSettings
    topics: TopicSettings
    consume: ConsumeSettings
    host: str = "0.0.0.0"  # noqa: S104 - /metrics and /healthz for Prometheus and Kubernetes
    port: int = 9101
    log_level: str = "INFO"
    alerting: AlertingSettings | None = None
    scoring: ScoringSettings | None = None
    marketo: tuple[MarketoInstance, ...] = ()


WORKER_KEYS = {
    "host",
    "log_level",
    "max_batch_records",
    "fetch_max_wait_ms",
    "commit_interval_seconds",
    "tick_interval_seconds",
    "session_timeout_ms",
    "heartbeat_interval_ms",
    "max_poll_interval_ms",
    "retry_initial_seconds",
    "retry_max_seconds",
    "drain_timeout_seconds",
    "dedup_window_hours",
    "dedup_max_ids_per_partition",
}
MARKETO_KEYS = {
    "munchkin_id",
    "identity_url",
    "rest_url",
    "client_id",
    "client_secret",
    "client_secret_env",
    "lists",
    "timeout_seconds",
    "max_attempts",
}


def _port(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) < 65536:
        raise ConfigError(f"Env 'DATASTREAMS_WORKER_PORT' has value {value!r}. Expected a port.")
    return int(value)


def read_consume(s: Section, group_id: str, start_from: str) -> ConsumeSettings:
    d = ConsumeSettings(group_id=group_id)
    return ConsumeSettings(
        group_id=group_id,
        start_from=start_from,
        max_batch_records=s.integer("max_batch_records", d.max_batch_records, 1),
        fetch_max_wait_ms=s.integer("fetch_max_wait_ms", d.fetch_max_wait_ms, 0),
        commit_interval_s=s.number("commit_interval_seconds", d.commit_interval_s, 0.0),
        tick_interval_s=s.number("tick_interval_seconds", d.tick_interval_s, 0.05),
        session_timeout_ms=s.integer("session_timeout_ms", d.session_timeout_ms, 1000),
        heartbeat_interval_ms=s.integer("heartbeat_interval_ms", d.heartbeat_interval_ms, 100),
        max_poll_interval_ms=s.integer("max_poll_interval_ms", d.max_poll_interval_ms, 1000),
        retry_initial_s=s.number("retry_initial_seconds", d.retry_initial_s, 0.001),
        retry_max_s=s.number("retry_max_seconds", d.retry_max_s, 0.001),
        drain_timeout_s=s.number("drain_timeout_seconds", d.drain_timeout_s, 0.1),
        dedup_window_s=s.number("dedup_window_hours", DEFAULT_WINDOW_S / HOUR_S, 0.01) * HOUR_S,
        dedup_capacity=s.integer("dedup_max_ids_per_partition", DEFAULT_CAPACITY, 1),
    )


def read_marketo(doc: Mapping[str, Any], env: Mapping[str, str]) -> tuple[MarketoInstance, ...]:
    raw = doc.get("marketo", [])
    if not isinstance(raw, list):
        raise ConfigError("Config 'marketo' must be an array of tables ([[marketo]]).")
    out = []
    for i, values in enumerate(raw):
        if not isinstance(values, Mapping):
            raise ConfigError(f"Config 'marketo[{i}]' must be a table.")
        s = Section(f"marketo[{i}]", values, MARKETO_KEYS)
        urls = {k: s.text(k, "").rstrip("/") for k in ("identity_url", "rest_url")}
        for key, url in urls.items():
            if not url.startswith(("https://", "http://")):
                raise ConfigError(f"Config 'marketo[{i}].{key}' has value {url!r}. Expected a URL.")
        secret_env = s.text("client_secret_env", "")
        ref = s.text("client_secret", "")
        if secret_env:
            secret = env.get(secret_env, "")
        else:
            secret = resolve(ref, f"marketo[{i}].client_secret", env).reveal() if ref else ""
        if not secret:
            raise ConfigError(
                f"Config 'marketo[{i}]' needs client_secret, or client_secret_env naming a set "
                "environment variable."
            )
        lists = table(values, "lists")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in lists.values()):
            raise ConfigError(f"Config 'marketo[{i}].lists' maps list names to Marketo list ids.")
        out.append(
            MarketoInstance(
                munchkin_id=s.text("munchkin_id", ""),
                identity_url=urls["identity_url"],
                rest_url=urls["rest_url"],
                client_id=s.text("client_id", ""),
                client_secret=Secret(secret),
                lists=dict(lists),
                timeout_s=s.number("timeout_seconds", 10.0, 0.1),
                max_attempts=s.integer("max_attempts", 4, 1),
            )
        )
    if any(not m.munchkin_id or not m.client_id for m in out):
        raise ConfigError("Config 'marketo': every instance needs munchkin_id and client_id.")
    return tuple(out)


def parse_worker_settings(
    kind: str, doc: Mapping[str, Any], env: Mapping[str, str], base: Path
) -> WorkerSettings:
    if kind not in KINDS:
        raise ConfigError(f"Worker kind {kind!r} is not one of {list(KINDS)}.")
    unknown = sorted(set(doc) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"Config has unknown section(s) {unknown}; valid: {sorted(TOP_KEYS)}")
    files = Files(base)
    w = Section("worker", table(doc, "worker"), WORKER_KEYS)
    level = (env.get("DATASTREAMS_LOG_LEVEL") or w.text("log_level", "INFO")).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"Log level {level!r} is not one of {list(LOG_LEVELS)}.")
    alerting = read_alerting(doc, env, files) if kind == "alerting" else None
    scoring = read_scoring(doc, files) if kind == "scoring" else None
    section = alerting or scoring
    assert section is not None
    port_env = env.get("DATASTREAMS_WORKER_PORT")
    kafka = read_kafka(doc, env)
    return WorkerSettings(
        kind=kind,
        kafka=kafka,
        topics=read_topics(doc, env),
        consume=read_consume(w, section.group_id, section.start_from),
        host=w.text("host", WorkerSettings.host),
        port=_port(port_env) if port_env else section.port,
        log_level=level,
        alerting=alerting,
        scoring=scoring,
        marketo=read_marketo(doc, env),
    )


def load_worker_settings(kind: str, env: Mapping[str, str]) -> WorkerSettings:
    """Read the file named by DATASTREAMS_WORKER_CONFIG (if any) and apply the environment."""
    path = env.get("DATASTREAMS_WORKER_CONFIG")
    doc: dict[str, Any] = {}
    base = Path("deploy/workers")
    if path:
        base = Path(path).parent
        try:
            doc = tomllib.loads(Path(path).read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"DATASTREAMS_WORKER_CONFIG names {path!r}, which does not exist."
            ) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"DATASTREAMS_WORKER_CONFIG file {path!r} is not valid TOML: {exc}"
            ) from exc
    return parse_worker_settings(kind, doc, env, base)
