"""Every metric the code exports and every Prometheus alert is listed on the monitoring page."""

import yaml
from prometheus_client import CollectorRegistry

from ingest.metrics import IngestMetrics
from pipeline.workers.metrics import WorkerMetrics
from tests.docs.markdown import REPO_ROOT, first_cells, section


def documented_names(registry: CollectorRegistry) -> set[str]:
    """Metric names as a reader queries them: counters with their ``_total`` suffix."""
    return {f.name + ("_total" if f.type == "counter" else "") for f in registry.collect()}


def test_ingress_metrics_are_the_documented_ones() -> None:
    exported = documented_names(IngestMetrics.create().registry)
    assert "datastreams_http_requests_total" in exported
    listed = first_cells(section("Ingress metrics", "monitoring.md"))
    assert listed == exported, (
        f"undocumented: {sorted(exported - listed)}; not exported: {sorted(listed - exported)}"
    )


def test_worker_metrics_are_the_documented_ones() -> None:
    exported = documented_names(WorkerMetrics.create().registry)
    assert "datastreams_worker_events_total" in exported
    listed = first_cells(section("Worker metrics", "monitoring.md"))
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
