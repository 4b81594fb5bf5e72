"""Which metric names the code really exports, and which names a PromQL expression uses.

The exported names come from the real registries (``IngestMetrics.create()``,
``WorkerMetrics.create()``, ``RecoveryMetrics.create()``), expanded the way Prometheus exposes
each type, so a rule or a panel that names a metric the code does not have is caught.
"""

import re
from pathlib import Path

from prometheus_client import CollectorRegistry

from ingest.metrics import IngestMetrics
from ingest.recover.metrics import RecoveryMetrics
from pipeline.workers.metrics import WorkerMetrics
from tests.deploy.tooling import load_yaml

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}
# Series Prometheus itself makes.
PROMETHEUS_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds"}
# Metrics the dashboards or alerts may name before the code exports them (none today).
PENDING: set[str] = set()
# A datastreams metric or a recording rule (level:metric:operations).
_NAME = re.compile(r"\b(datastreams_[a-z0-9_]+|[a-z_]+:[a-z0-9_]+:[a-z0-9_]+)\b")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def exported(registry: CollectorRegistry) -> set[str]:
    return {
        family.name + suffix for family in registry.collect() for suffix in SUFFIXES[family.type]
    }


def code_metric_names() -> set[str]:
    return (
        exported(IngestMetrics.create().registry)
        | exported(WorkerMetrics.create().registry)
        | exported(RecoveryMetrics.create().registry)
    )


def recorded_names(rule_file: Path) -> set[str]:
    groups = load_yaml(rule_file)["groups"]
    return {rule["record"] for group in groups for rule in group["rules"] if "record" in rule}


def names_in(expr: str) -> set[str]:
    """The datastreams metrics and recording rules an expression reads (strings skipped)."""
    return set(_NAME.findall(_STRING.sub('""', expr)))
