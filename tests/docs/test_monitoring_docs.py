"""Every metric the code exports and every Prometheus alert is listed on the monitoring page."""

import pytest
import yaml
from prometheus_client import CollectorRegistry

from ingest.metrics import IngestMetrics
from ingest.recover.metrics import RecoveryMetrics
from pipeline.workers.metrics import WorkerMetrics
from tests.docs.markdown import REPO_ROOT, first_cells, section


def documented_names(registry: CollectorRegistry) -> set[str]:
    """Metric names as a reader queries them: counters with their ``_total`` suffix."""
    return {f.name + ("_total" if f.type == "counter" else "") for f in registry.collect()}


@pytest.mark.parametrize(
    ("heading", "registry", "sample"),
    [
        ("Ingress metrics", IngestMetrics.create().registry, "datastreams_http_requests_total"),
        ("Worker metrics", WorkerMetrics.create().registry, "datastreams_worker_events_total"),
        ("Recovery metrics", RecoveryMetrics.create().registry, "datastreams_journal_events_total"),
    ],
)
def test_exported_metrics_are_the_documented_ones(
    heading: str, registry: CollectorRegistry, sample: str
) -> None:
    exported = documented_names(registry)
    assert sample in exported
    listed = first_cells(section(heading, "monitoring.md"))
    assert listed == exported, (
        f"undocumented: {sorted(exported - listed)}; not exported: {sorted(listed - exported)}"
    )


def test_prometheus_alerts_are_the_documented_ones() -> None:
    rules = yaml.safe_load((REPO_ROOT / "deploy/prometheus/rules/alerts.yml").read_text("utf-8"))
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alerts
    listed = first_cells(section("Alerts", "monitoring.md"))
    assert listed == alerts, (
        f"undocumented: {sorted(alerts - listed)}; not in alerts.yml: {sorted(listed - alerts)}"
    )
