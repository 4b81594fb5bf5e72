"""The ``[alerting]`` table of the worker config: the rule file and where alerts go.

Environment overrides: ``DATASTREAMS_ALERT_WEBHOOK_URL``, ``DATASTREAMS_ALERT_WEBHOOK_SECRET``.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook

from pipeline.config import DAYS, HOURS, SECONDS, Secret, read_section, resolve, setting, table
from pipeline.errors import ConfigError
from pipeline.workers.alerting.rule_file import parse_rules
from pipeline.workers.alerting.rules import RuleSet, Severity
from pipeline.workers.files import Files

START_FROM = ("earliest", "latest")


def _signing_secrets(raw: Any, where: str, env: Mapping[str, str]) -> tuple[Secret, ...]:
    """Standard Webhooks secrets (``whsec_<base64>``), each a literal, ``env:`` or ``file:``;
    the first signs first, the others too (a rotation in progress)."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise ConfigError(f"Config '{where}' must be a list of secrets.")
    secrets = tuple(resolve(r, where, env) for r in raw)
    for n, secret in enumerate(secrets):
        try:
            Webhook(secret.reveal())
        except Exception as exc:  # the library raises several kinds; never show the value
            raise ConfigError(
                f"Config '{where}' item {n} is not a Standard Webhooks secret "
                f"(whsec_ and base64): {type(exc).__name__}"
            ) from None
    return secrets


@dataclass(frozen=True)
class WebhookSettings:
    # Slack incoming webhook URLs are credentials.
    url: Secret | None = setting(None, key="webhook_url", env="DATASTREAMS_ALERT_WEBHOOK_URL")
    min_severity: Severity = setting(Severity.INFO, key="webhook_min_severity")
    timeout_s: float = setting(5 * SECONDS, key="webhook_timeout_seconds", minimum=0.1)
    max_attempts: int = setting(5, key="webhook_max_attempts", minimum=1)
    retry_initial_s: float = 0.5 * SECONDS
    # Signing secrets (effects/webhook.py): a receiver tells our alerts from forgeries.
    secrets: tuple[Secret, ...] = setting(
        (),
        key="webhook_signing_secrets",
        env="DATASTREAMS_ALERT_WEBHOOK_SECRET",
        parse=_signing_secrets,
    )


@dataclass(frozen=True)
class AlertingSettings:
    rules: RuleSet
    rules_file: str = setting("alert-rules.toml")
    group_id: str = setting("datastreams-alerting")
    # A new group starts at the end of the topics (with state warmed from the recent past),
    # so a first deployment does not alert on a week of history.
    start_from: str = setting("latest", choices=START_FROM)
    port: int = setting(9101, minimum=0, maximum=65535)
    log_alerts: bool = setting(True)
    max_keys_per_rule: int = setting(100_000, minimum=1)
    restore_horizon_s: float = setting(
        7 * DAYS, key="restore_horizon_hours", minimum=0, scale=HOURS
    )
    # How far behind its tenant's newest event an event may arrive and still be judged as a
    # replay would judge it: rule state is kept this much longer (Adobe retries for 24 h).
    lateness_s: float = setting(25 * HOURS, key="allowed_lateness_hours", minimum=0, scale=HOURS)
    webhook: WebhookSettings = field(default_factory=WebhookSettings)


def read_alerting(doc: Mapping[str, Any], env: Mapping[str, str], files: Files) -> AlertingSettings:
    values = table(doc, "alerting")
    webhook = read_section(
        WebhookSettings, "alerting", values, env, shared_with=(AlertingSettings,)
    )
    if webhook.url and not webhook.url.reveal().startswith(("https://", "http://")):
        raise ConfigError("Config 'alerting.webhook_url' must be an http(s) URL.")
    rules_file = values.get("rules_file", AlertingSettings.rules_file)
    rules = (
        parse_rules(files.toml("alerting.rules_file", rules_file), str(files.path(rules_file)))
        if isinstance(rules_file, str)
        else None
    )
    return read_section(
        AlertingSettings,
        "alerting",
        values,
        env,
        shared_with=(WebhookSettings,),
        rules=rules,
        webhook=webhook,
    )
