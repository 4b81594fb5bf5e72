"""The alerting worker's effects role: each alert on ``<prefix>.alerts`` → its effects.

* **webhook** (``alerting.webhook_url``): a signed ``POST`` of a Slack-compatible body (``text``
  + ``attachments``) for alerts at or above ``webhook_min_severity``; ``webhook-id`` is the alert
  id, the same on every repeat.
* **Marketo list** (``[[marketo]]``): for alerts whose rule has ``add_to_list``, the alert's lead
  is added to the list of that name of its tenant's instance; idempotent by nature.

The body and the list come from the alert record alone, as it was decided.
"""

from collections.abc import Mapping
from typing import Any

import orjson

from pipeline.consume.record import Record
from pipeline.errors import UnusableInput
from pipeline.marketo.client import MarketoClient
from pipeline.workers.alerting.rules import Severity
from pipeline.workers.alerting.settings import WebhookSettings
from pipeline.workers.effects.effect import Effect
from pipeline.workers.effects.handler import Decide, EffectsRole
from pipeline.workers.effects.marketo import MarketoSink
from pipeline.workers.effects.webhook import Endpoint, WebhookSink
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.spec import Wiring

ICONS = {
    Severity.INFO: ":information_source:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":rotating_light:",
}
COLORS = {Severity.INFO: "#439FE0", Severity.WARNING: "#DAA038", Severity.CRITICAL: "#D50200"}


def slack_body(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook body for an alert record; other chat tools accept ``text``."""
    severity = Severity(alert["severity"])
    fields = [
        ("Rule", alert["rule"]),
        ("Severity", severity.value),
        ("Tenant", alert["munchkinId"]),
        ("Key", alert["key"]),
        ("Events", str(alert["count"])),
        ("First seen", alert["firstSeen"]),
        ("Last seen", alert["lastSeen"]),
    ]
    return {
        "text": f"{ICONS[severity]} *[{severity.value}] {alert['rule']}*: {alert['summary']}",
        "attachments": [
            {
                "color": COLORS[severity],
                "fields": [{"title": t, "value": v, "short": True} for t, v in fields],
                "footer": f"datastreams alert {alert['id']}",
            }
        ],
    }


def alert_doc(record: Record) -> dict[str, Any]:
    try:
        doc = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        raise UnusableInput("malformed_json", str(exc)) from exc
    if type(doc) is not dict or not isinstance(doc.get("id"), str):
        raise UnusableInput("invalid_envelope", "an alert record is a JSON object with an id")
    return doc


def decider(
    webhook: WebhookSettings | None, clients: Mapping[str, MarketoClient], m: WorkerMetrics
) -> Decide:
    def decide(record: Record) -> list[Effect]:
        alert = alert_doc(record)
        munchkin, lead = str(alert["munchkinId"]), str(alert.get("leadId") or "")
        effects = []
        if webhook is not None:
            if Severity(alert["severity"]).rank >= webhook.min_severity.rank:
                body = orjson.dumps(slack_body(alert))
                effects.append(Effect("webhook", alert["id"], record, munchkin, body=body))
            else:
                m.sink_deliveries.labels("webhook", "skipped").inc()
        name = alert.get("addToList")
        if name and clients:
            client = clients.get(munchkin)
            list_id = client.instance.lists.get(name) if client else None
            if list_id is None or not lead.isdigit():
                m.sink_deliveries.labels("marketo_list", "skipped").inc()
            else:
                effect = Effect(
                    "marketo_list", alert["id"], record, munchkin, int(lead), (list_id,)
                )
                effects.append(effect)
        return effects

    return decide


def endpoint(w: WebhookSettings) -> Endpoint:
    assert w.url is not None
    return Endpoint(w.url, w.secrets, w.timeout_s, w.max_attempts, w.retry_initial_s)


def role(w: Wiring) -> EffectsRole | None:
    a = w.settings.alerting
    assert a is not None  # parse_worker_settings reads it for this kind
    webhook = a.webhook if a.webhook.url is not None else None
    if webhook is None and not w.clients:
        return None
    sinks: dict[str, Any] = {"marketo_list": MarketoSink(w.clients, w.metrics)}
    if webhook is not None:
        sinks["webhook"] = WebhookSink(w.session, endpoint(webhook), w.metrics, w.clock)
    return EffectsRole((w.topics.alerts,), decider(webhook, w.clients, w.metrics), sinks)
