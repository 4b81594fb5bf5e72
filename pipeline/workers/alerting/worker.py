"""The alerting worker as the service runs it: the three envelope topics in, the handler and its
log sink, the effects role (webhook, Marketo lists), one label set per rule declared up front."""

from pipeline.topics import Topic, WorkerTopics
from pipeline.workers.alerting import effects
from pipeline.workers.alerting.handler import AlertingHandler
from pipeline.workers.alerting.settings import AlertingSettings
from pipeline.workers.alerting.sinks import LogSink
from pipeline.workers.metrics import WorkerMetrics
from pipeline.workers.settings import WorkerSettings
from pipeline.workers.spec import Wiring, WorkerSpec


def section(settings: WorkerSettings) -> AlertingSettings:
    assert settings.alerting is not None  # parse_worker_settings reads it for this kind
    return settings.alerting


def inputs(topics: WorkerTopics) -> tuple[Topic, ...]:
    i = topics.inputs
    return (i.lead_activity, i.user_audit, i.notification)


def handler(w: Wiring) -> AlertingHandler:
    a = section(w.settings)
    return AlertingHandler(
        rules=a.rules,
        alerts_topic=w.topics.alerts.name,
        publisher=w.publisher,
        sinks=[LogSink(w.metrics)] if a.log_alerts else [],
        metrics=w.metrics,
        max_keys_per_rule=a.max_keys_per_rule,
        restore_horizon_s=a.restore_horizon_s,
        lateness_s=a.lateness_s,
        clock=w.clock,
    )


def metrics(settings: WorkerSettings) -> WorkerMetrics:
    return WorkerMetrics.create((r.id, r.severity.value) for r in section(settings).rules.rules)


ALERTING = WorkerSpec(
    kind="alerting", inputs=inputs, handler=handler, metrics=metrics, effects=effects.role
)
