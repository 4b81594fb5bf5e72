"""The recovery commands' Prometheus metrics, on a registry of their own, declared once with
closed label sets: registrations are the configured ``[[journal]]`` names, tenants the
configured munchkin IDs.

``journal --follow`` runs for ever and serves them on ``recovery.metrics_port``; the bounded runs
(a journal backfill, ``backfill marketo``) end between two scrapes, so they push them to the
Pushgateway (``recovery.pushgateway_url``) when they end, which keeps them after the process is
gone: the cursor's timestamp among them, which the expiry alert reads.
"""

import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway

log = logging.getLogger(__name__)

OUTCOMES = ("published", "deadlettered", "present", "refused")
PUSH_JOB = "datastreams-recovery"


@dataclass(frozen=True)
class RecoveryMetrics:
    registry: CollectorRegistry
    journal_events: Counter
    journal_requests: Counter
    journal_cursor_time: Gauge
    journal_lag: Gauge
    journal_expired: Counter
    backfill_events: Counter
    backfill_pages: Counter
    backfill_progress: Gauge
    api_calls: Counter
    quota_used: Gauge

    @classmethod
    def create(cls) -> "RecoveryMetrics":
        r = CollectorRegistry()
        return cls(
            registry=r,
            journal_events=Counter(
                "datastreams_journal_events",
                "Journal events by outcome",
                ["registration", "outcome"],
                registry=r,
            ),
            journal_requests=Counter(
                "datastreams_journal_requests",
                "Journal requests by HTTP status (0: no answer)",
                ["registration", "status"],
                registry=r,
            ),
            journal_cursor_time=Gauge(
                "datastreams_journal_cursor_timestamp_seconds",
                "Time of the newest event the stored journal cursor covers",
                ["registration"],
                registry=r,
            ),
            journal_lag=Gauge(
                "datastreams_journal_lag_seconds",
                "Age of the cursor's position; 0 once the journal has nothing newer",
                ["registration"],
                registry=r,
            ),
            journal_expired=Counter(
                "datastreams_journal_cursor_expired",
                "Journal cursors Adobe answered 410 for (events older than 7 days lost)",
                ["registration"],
                registry=r,
            ),
            backfill_events=Counter(
                "datastreams_backfill_events",
                "REST backfill events by outcome",
                ["tenant", "outcome"],
                registry=r,
            ),
            backfill_pages=Counter(
                "datastreams_backfill_pages", "REST pages read", ["tenant"], registry=r
            ),
            backfill_progress=Gauge(
                "datastreams_backfill_progress_ratio",
                "Share of the backfill's range done",
                ["tenant"],
                registry=r,
            ),
            api_calls=Counter(
                "datastreams_marketo_api_calls",
                "Marketo REST calls this process made",
                ["tenant"],
                registry=r,
            ),
            quota_used=Gauge(
                "datastreams_marketo_quota_used_ratio",
                "Share of this process' daily Marketo quota spent",
                ["tenant"],
                registry=r,
            ),
        )

    def push(self, gateway: str | None, grouping: dict[str, str]) -> None:
        """Push to the Pushgateway, if one is configured; a failure is logged, never raised (the
        run's work is done and acknowledged by then)."""
        if not gateway:
            return
        try:
            push_to_gateway(gateway, job=PUSH_JOB, registry=self.registry, grouping_key=grouping)
        except OSError as exc:
            log.warning("could not push the metrics to %s: %s", gateway, type(exc).__name__)
