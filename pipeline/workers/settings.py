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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.config import (
    check_sections,
    load_toml,
    log_level,
    read_section,
    setting,
    table,
)
from pipeline.consume.settings import ConsumeSettings
from pipeline.errors import ConfigError
from pipeline.marketo.settings import MarketoInstance, read_marketo
from pipeline.settings import KafkaSettings, TopicSettings, read_kafka, read_topics
from pipeline.workers.alerting.settings import AlertingSettings, read_alerting
from pipeline.workers.files import Files
from pipeline.workers.scoring.settings import ScoringSettings, read_scoring

KINDS = ("alerting", "scoring")
SECTIONS = {"kafka", "topics", "worker", "alerting", "scoring", "marketo"}
PORT_ENV = "DATASTREAMS_WORKER_PORT"


@dataclass(frozen=True)
class WorkerSettings:
    kind: str
    kafka: KafkaSettings
    topics: TopicSettings
    consume: ConsumeSettings
    # /metrics and /healthz for Prometheus and Kubernetes.
    host: str = setting("0.0.0.0")  # noqa: S104 - every interface of the pod
    port: int = 9101  # the worker's own ([alerting] or [scoring] port), or DATASTREAMS_WORKER_PORT
    log_level: str = setting("INFO", env="DATASTREAMS_LOG_LEVEL", parse=log_level)
    alerting: AlertingSettings | None = None
    scoring: ScoringSettings | None = None
    marketo: tuple[MarketoInstance, ...] = ()


def _port(env: Mapping[str, str], default: int) -> int:
    value = env.get(PORT_ENV)
    if not value:
        return default
    if not value.isdigit() or not 0 <= int(value) < 65536:
        raise ConfigError(f"Env '{PORT_ENV}' has value {value!r}. Expected a port.")
    return int(value)


def parse_worker_settings(
    kind: str, doc: Mapping[str, Any], env: Mapping[str, str], base: Path
) -> WorkerSettings:
    if kind not in KINDS:
        raise ConfigError(f"Worker kind {kind!r} is not one of {list(KINDS)}.")
    check_sections(doc, SECTIONS)
    files = Files(base)
    alerting = read_alerting(doc, env, files) if kind == "alerting" else None
    scoring = read_scoring(doc, files) if kind == "scoring" else None
    section = alerting or scoring
    if section is None:  # unreachable: kind is one of KINDS
        raise ConfigError(f"Worker kind {kind!r} has no settings.")
    worker = table(doc, "worker")
    consume = read_section(
        ConsumeSettings,
        "worker",
        worker,
        env,
        shared_with=(WorkerSettings,),
        group_id=section.group_id,
        start_from=section.start_from,
    )
    return read_section(
        WorkerSettings,
        "worker",
        worker,
        env,
        shared_with=(ConsumeSettings,),
        kind=kind,
        kafka=read_kafka(doc, env),
        topics=read_topics(doc, env),
        consume=consume,
        port=_port(env, section.port),
        alerting=alerting,
        scoring=scoring,
        marketo=read_marketo(doc, env),
    )


def load_worker_settings(kind: str, env: Mapping[str, str]) -> WorkerSettings:
    """Read the file named by DATASTREAMS_WORKER_CONFIG (if any) and apply the environment."""
    path = env.get("DATASTREAMS_WORKER_CONFIG")
    if not path:
        return parse_worker_settings(kind, {}, env, Path("deploy/workers"))
    doc = load_toml(Path(path), "DATASTREAMS_WORKER_CONFIG")
    return parse_worker_settings(kind, doc, env, Path(path).parent)
