"""The workers' own Prometheus metrics (the consume loop's are in ``pipeline/consume/metrics.py``).

Declared once, on the worker process' own registry, with closed label sets: rule ids come from
the rule file and are fixed at start; no event, lead or alert id is ever a label.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pipeline.consume.metrics import OUTCOMES, ConsumeMetrics

FRESHNESS_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)
SINKS = (
    "log",
    "webhook",
    "marketo_list",
    "marketo_unlist",
    "marketo_campaign",
    "marketo_program",
    "marketo_field",
)
# failed: out of retries or refused, written to the sink dead-letter topic; repeat: a campaign
# request the effects ledger shows as made already
SINK_RESULTS = ("ok", "failed", "skipped", "repeat")


@dataclass(frozen=True)
class WorkerMetrics:
    registry: CollectorRegistry
    consume: ConsumeMetrics
    alerts: Counter
    alerts_suppressed: Counter
    scores: Counter
    freshness: Histogram
    sink_deliveries: Counter
    leads: Gauge
    ready: Gauge

    @classmethod
    def create(cls, rule_severities: Iterable[tuple[str, str]] = ()) -> "WorkerMetrics":
        r = CollectorRegistry()
        metrics = cls(
            registry=r,
            consume=ConsumeMetrics.create(r),
            alerts=Counter(
                "datastreams_worker_alerts",
                "Alerts fired, by rule and severity",
                ["rule", "severity"],
                registry=r,
            ),
            alerts_suppressed=Counter(
                "datastreams_worker_alerts_suppressed",
                "Alerts not fired again because their id was already on the alerts topic",
                ["rule"],
                registry=r,
            ),
            scores=Counter(
                "datastreams_worker_scores",
                "Lead-score records written, by model and kind of update",
                ["model", "update"],
                registry=r,
            ),
            freshness=Histogram(
                "datastreams_worker_freshness_seconds",
                "Event time → alert or score emitted",
                ["output"],
                buckets=FRESHNESS_BUCKETS_S,
                registry=r,
            ),
            sink_deliveries=Counter(
                "datastreams_worker_sink_deliveries",
                "Deliveries to sinks (webhook, log, Marketo) by result",
                ["sink", "result"],
                registry=r,
            ),
            leads=Gauge(
                "datastreams_worker_leads", "Leads whose score is held in memory", registry=r
            ),
            ready=Gauge(
                "datastreams_worker_ready",
                "1 while the worker consumes with restored state",
                registry=r,
            ),
        )
        for rule, severity in rule_severities:
            metrics.alerts.labels(rule, severity)
            metrics.alerts_suppressed.labels(rule)
        return metrics

    def summary(self, worker: str) -> str:
        """One line for the log when the worker stops: records by outcome, outputs written."""
        parts = []
        for outcome in OUTCOMES:
            n = self.registry.get_sample_value(
                "datastreams_worker_events_total", {"worker": worker, "outcome": outcome}
            )
            parts.append(f"{outcome}={int(n or 0)}")
        for metric in ("datastreams_worker_alerts_total", "datastreams_worker_scores_total"):
            samples = (s for m in self.registry.collect() for s in m.samples if s.name == metric)
            parts.append(f"{metric.split('_')[2]}={int(sum(s.value for s in samples))}")
        return " ".join(parts)
