"""deploy/grafana/datastreams.json: a well-formed dashboard whose queries read only metrics the
code exports (or recording rules of deploy/prometheus). The end-to-end test runs every query
against a real Prometheus.
"""

import json
from collections.abc import Iterator
from typing import Any

from tests.deploy.metric_names import (
    PENDING,
    PROMETHEUS_SERIES,
    code_metric_names,
    names_in,
    recorded_names,
)
from tests.deploy.tooling import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "datastreams.json"
RECORDING = DEPLOY / "prometheus" / "rules" / "recording.yml"
GRID_COLUMNS = 24
# Issue 7: throughput by stream and tenant, latency, errors, lag, dead letters, alerts fired,
# freshness.
SECTIONS = {"Throughput", "Latency", "Errors", "Kafka consumers", "Dead letters", "Alerts"}


def dashboard() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return doc


def panels() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = dashboard()["panels"]
    return found


def queries() -> Iterator[tuple[dict[str, Any], str]]:
    for panel in panels():
        for target in panel.get("targets", []):
            yield panel, target["expr"]


def substitute(expr: str) -> str:
    """The query as Grafana sends it with every variable at "All"."""
    return (
        expr.replace("$__rate_interval", "1m")
        .replace("$ingress_job", ".+")
        .replace("$worker_job", ".+")
    )


def test_it_is_a_dashboard() -> None:
    doc = dashboard()
    assert doc["uid"] == "datastreams"
    assert doc["schemaVersion"] >= 36
    assert {v["name"] for v in doc["templating"]["list"]} == {
        "datasource",
        "ingress_job",
        "worker_job",
    }
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))


def test_panels_tile_the_grid_without_overlap() -> None:
    taken: set[tuple[int, int]] = set()
    for panel in panels():
        g = panel["gridPos"]
        assert g["x"] >= 0, panel["title"]
        assert g["x"] + g["w"] <= GRID_COLUMNS, panel["title"]
        cells = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_every_query_uses_the_datasource_variable() -> None:
    for panel in panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


def test_queries_read_only_metrics_the_code_exports() -> None:
    known = code_metric_names() | recorded_names(RECORDING) | PROMETHEUS_SERIES
    for panel, expr in queries():
        unknown = names_in(expr) - known
        if "proposed" in panel.get("description", ""):
            unknown -= PENDING
        assert unknown == set(), f"panel {panel['title']!r}: {expr}"
    assert all(names_in(expr) for _, expr in queries() if "ALERTS" not in expr)


def test_it_covers_what_issue_7_asks_for() -> None:
    rows = {p["title"] for p in panels() if p["type"] == "row"}
    assert rows >= SECTIONS | {"Freshness"}
    titles = " ".join(p["title"].lower() for p in panels())
    for words in ("by stream", "by tenant", "latency", "lag", "dead-lettered", "alerts fired"):
        assert words in titles, words
