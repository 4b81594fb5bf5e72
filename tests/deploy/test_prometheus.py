"""deploy/prometheus: the rules pass ``promtool check rules``, every alert has a unit test that
``promtool test rules`` runs, the scrape config parses, and every metric a rule reads exists.
"""

import shutil
from pathlib import Path
from typing import Any

from tests.deploy.metric_names import (
    PENDING,
    PROMETHEUS_SERIES,
    code_metric_names,
    names_in,
    recorded_names,
)
from tests.deploy.prometheus_config import pod_target, static_variant, write
from tests.deploy.tooling import DEPLOY, load_yaml, run, tool

PROMETHEUS = DEPLOY / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.test.yml"))
ALERTS = PROMETHEUS / "rules" / "alerts.yml"
RECORDING = PROMETHEUS / "rules" / "recording.yml"


def rules_of(path: Path) -> list[dict[str, Any]]:
    return [rule for group in load_yaml(path)["groups"] for rule in group["rules"]]


def alert_names() -> set[str]:
    return {rule["alert"] for rule in rules_of(ALERTS)}


def test_promtool_checks_the_rules() -> None:
    result = run(tool("promtool"), "check", "rules", *map(str, RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run(tool("promtool"), "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_fires_it() -> None:
    fired = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.add(check["alertname"])
    assert alert_names() - fired == set()
    assert fired - alert_names() == set()


def test_every_alert_says_how_bad_and_what() -> None:
    for rule in rules_of(ALERTS):
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["alert"].startswith("Datastreams"), rule["alert"]


def test_rules_read_only_metrics_the_code_exports() -> None:
    known = code_metric_names() | recorded_names(RECORDING) | PROMETHEUS_SERIES
    for path in RULES:
        for rule in rules_of(path):
            unknown = names_in(rule["expr"]) - known
            if rule.get("alert") == "DatastreamsTenantStreamSilent":
                unknown -= PENDING
            assert unknown == set(), f"{path.name} {rule.get('alert') or rule.get('record')}"


def test_pending_metrics_are_really_pending() -> None:
    """When the ingress exports the per-tenant counter, drop it from PENDING (metric_names.py)."""
    assert PENDING & code_metric_names() == set()


def test_broken_rules_are_caught(tmp_path: Path) -> None:
    """Negative controls: bad PromQL fails the check; a changed threshold fails the unit test."""
    copy = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, copy)
    alerts = copy / "rules" / "alerts.yml"
    text = alerts.read_text()
    alerts.write_text(text.replace("datastreams_kafka_ready == 0", "datastreams_kafka_ready == ("))
    assert run(tool("promtool"), "check", "rules", str(alerts)).returncode != 0
    alerts.write_text(text.replace("> 10000", "> 20000"))
    result = run(tool("promtool"), "test", "rules", str(copy / "tests" / "alerts.test.yml"))
    assert result.returncode != 0
    assert "DatastreamsConsumerLagHigh" in result.stdout + result.stderr


def test_promtool_checks_the_scrape_config(tmp_path: Path) -> None:
    """Debian's promtool has no Kubernetes discovery: the discovery is swapped for a static
    target (prometheus_config.py); the relabelling and the rule files are checked as written."""
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    assert [job["kubernetes_sd_configs"] for job in config["scrape_configs"]] == [[{"role": "pod"}]]
    variant = static_variant([pod_target("127.0.0.1:8080", "ingress", 8080)])
    path = write(variant, tmp_path / "prometheus.yml")
    result = run(tool("promtool"), "check", "config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert {Path(f).name for f in config["rule_files"]} == {p.name for p in RULES}
