"""The ``[alerting]`` table of the worker config: the rule file and where alerts go.

Environment override: ``DATASTREAMS_ALERT_WEBHOOK_URL``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.dedup import HOUR_S
from pipeline.errors import ConfigError
from pipeline.secrets import Secret, resolve
from pipeline.settings import SECONDS, Section, table
from pipeline.workers.alerting.rules import RuleSet, Severity, parse_rules
from pipeline.workers.files import Files

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
