"""Worker configuration: read once at the entrypoint (``datastreams worker``), frozen.

Source: the TOML file named by ``DATASTREAMS_WORKER_CONFIG`` (optional; e.g.
``deploy/workers/worker.toml``) with the same ``[kafka]`` and ``[topics]`` tables as the ingress,
plus ``[worker]``, ``[alerting]``, ``[scoring]`` and ``[[marketo]]``. The rule file, the scoring
file and the coefficients file it names are read here too; relative paths are taken from the
config file's folder. Environment overrides: ``KAFKA_BOOTSTRAP_SERVERS``,
``DATASTREAMS_TOPIC_PREFIX``, ``DATASTREAMS_WORKER_PORT``, ``DATASTREAMS_LOG_LEVEL``,
``DATASTREAMS_ALERT_WEBHOOK_URL``, and for each Marketo instance the variable its
``client_secret_env`` names.
"""

import json
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
from pipeline.workers.alerting.rules import RuleSet, Severity, parse_rules
from pipeline.workers.scoring.models import (
    MODEL_NAMES,
    ScoringModel,
    parse_decayed_weights,
    parse_logistic_regression,
)

KINDS = ("alerting", "scoring")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TOP_KEYS = {"kafka", "topics", "worker", "alerting", "scoring", "marketo"}
DAYS = 24 * HOUR_S


@dataclass(frozen=True)
class WebhookSettings:
    url: Secret | None = None  # Slack incoming webhook URLs are credentials
    min_severity: Severity = Severity.INFO
    timeout_s: float = 5 * SECONDS
    max_attempts: int = 5
    retry_initial_s: float = 0.5 * SECONDS


@dataclass(frozen=True)
class AlertingSettings:
    rules: RuleSet
    group_id: str = "datastreams-alerting"
    # A new group starts at the end of the topics (with state warmed from the recent past),
    # so a first deployment does not alert on a week of history.
    start_from: str = "latest"
    port: int = 9101
    log_alerts: bool = True
    max_keys_per_rule: int = 100_000
    restore_horizon_s: float = 7 * DAYS
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


@dataclass(frozen=True)
class ScoringSettings:
    model: ScoringModel
    emit_threshold: float = 5.0
    checkpoint_interval_s: float = 30 * SECONDS
    group_id: str = "datastreams-scoring"
    start_from: str = "earliest"
    port: int = 9102
    push_to_marketo: bool = False
    push_field: str = "datastreamsScore"


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
ALERTING_KEYS = {
    "group_id",
    "start_from",
    "port",
    "rules_file",
    "log_alerts",
    "max_keys_per_rule",
    "restore_horizon_hours",
    "webhook_url",
    "webhook_min_severity",
    "webhook_timeout_seconds",
    "webhook_max_attempts",
}
SCORING_KEYS = {"group_id", "start_from", "port", "config_file", "push_to_marketo", "push_field"}
SCORING_FILE_KEYS = {
    "model",
    "emit_threshold",
    "checkpoint_seconds",
    "decayed_weights",
    "logistic_regression",
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


class Files:
    """Reads the files a config names, relative to the config file's folder."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def path(self, name: str) -> Path:
        p = Path(name)
        return p if p.is_absolute() else self.base / p

    def toml(self, key: str, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            return tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"Config '{key}' names {str(path)!r}, which does not exist.") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config '{key}': {str(path)!r} is not valid TOML: {exc}") from exc

    def json(self, key: str, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            doc = json.loads(path.read_text("utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"Config '{key}' names {str(path)!r}, which does not exist.") from exc
        except json.JSONDecodeError as exc:
            raise ConfigError(f"Config '{key}': {str(path)!r} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"Config '{key}': {str(path)!r} must hold a JSON object.")
        return doc


def read_alerting(doc: Mapping[str, Any], env: Mapping[str, str], files: Files) -> AlertingSettings:
    s = Section("alerting", table(doc, "alerting"), ALERTING_KEYS)
    rules_file = s.text("rules_file", "alert-rules.toml")
    rules = parse_rules(files.toml("alerting.rules_file", rules_file), str(files.path(rules_file)))
    ref = env.get("DATASTREAMS_ALERT_WEBHOOK_URL") or s.text("webhook_url", "")
    url = resolve(ref, "alerting.webhook_url", env).reveal() if ref else ""
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError("Config 'alerting.webhook_url' must be an http(s) URL.")
    d = WebhookSettings()
    webhook = WebhookSettings(
        url=Secret(url) if url else None,
        min_severity=Severity(
            s.choice("webhook_min_severity", d.min_severity.value, tuple(x.value for x in Severity))
        ),
        timeout_s=s.number("webhook_timeout_seconds", d.timeout_s, 0.1),
        max_attempts=s.integer("webhook_max_attempts", d.max_attempts, 1),
    )
    a = AlertingSettings(rules=rules)
    return AlertingSettings(
        rules=rules,
        group_id=s.text("group_id", a.group_id),
        start_from=s.choice("start_from", a.start_from, ("earliest", "latest")),
        port=s.integer("port", a.port),
        log_alerts=s.flag("log_alerts", a.log_alerts),
        max_keys_per_rule=s.integer("max_keys_per_rule", a.max_keys_per_rule, 1),
        restore_horizon_s=s.number("restore_horizon_hours", a.restore_horizon_s / HOUR_S, 0.0)
        * HOUR_S,
        webhook=webhook,
    )


def read_scoring(doc: Mapping[str, Any], files: Files) -> ScoringSettings:
    s = Section("scoring", table(doc, "scoring"), SCORING_KEYS)
    config_file = s.text("config_file", "scoring.toml")
    scoring_doc = files.toml("scoring.config_file", config_file)
    f = Section(str(files.path(config_file)), scoring_doc, SCORING_FILE_KEYS)
    model: ScoringModel
    if f.choice("model", "decayed-weights", MODEL_NAMES) == "decayed-weights":
        model = parse_decayed_weights(table(scoring_doc, "decayed_weights"))
    else:
        lr = Section(
            "logistic_regression", table(scoring_doc, "logistic_regression"), {"coefficients_file"}
        )
        name = lr.text("coefficients_file", "lead-model.example.json")
        coefficients = files.json("logistic_regression.coefficients_file", name)
        model = parse_logistic_regression(coefficients, str(files.path(name)))
    d = ScoringSettings(model=model)
    return ScoringSettings(
        model=model,
        emit_threshold=f.number("emit_threshold", d.emit_threshold, 0.0),
        checkpoint_interval_s=f.number("checkpoint_seconds", d.checkpoint_interval_s, 0.0),
        group_id=s.text("group_id", d.group_id),
        start_from=s.choice("start_from", d.start_from, ("earliest", "latest")),
        port=s.integer("port", d.port),
        push_to_marketo=s.flag("push_to_marketo", d.push_to_marketo),
        push_field=s.text("push_field", d.push_field),
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
