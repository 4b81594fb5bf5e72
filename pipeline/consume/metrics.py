"""The consume loop's Prometheus metrics, declared on the worker's registry.

Labels are closed: the worker's name, an outcome, stage or result from a fixed list, and the
topic and partition number of partitions the member owns (removed when they leave it).
"""

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

BATCH_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RESTORE_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
OUTCOMES = ("handled", "duplicate", "deadlettered")


@dataclass(frozen=True)
class ConsumeMetrics:
    events: Counter
    batch_duration: Histogram
    lag: Gauge
    commits: Counter
    retries: Counter
    restore_duration: Histogram
    restored_records: Counter
    assigned: Gauge
    dedup_ids: Gauge
    dedup_evicted_early: Gauge

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "ConsumeMetrics":
        r = registry
        return cls(
            events=Counter(
                "datastreams_worker_events",
                "Records by worker and outcome",
                ["worker", "outcome"],
                registry=r,
            ),
            batch_duration=Histogram(
                "datastreams_worker_batch_duration_seconds",
                "Handling one fetched batch, flush included",
                ["worker"],
                buckets=BATCH_BUCKETS_S,
                registry=r,
            ),
            lag=Gauge(
                "datastreams_worker_consumer_lag",
                "Records between the handled position and the partition's end",
                ["topic", "partition"],
                registry=r,
            ),
            commits=Counter(
                "datastreams_worker_commits",
                "Offset commits by result",
                ["worker", "result"],
                registry=r,
            ),
            retries=Counter(
                "datastreams_worker_retries",
                "Retries after a retriable error, by stage",
                ["worker", "stage"],
                registry=r,
            ),
            restore_duration=Histogram(
                "datastreams_worker_restore_duration_seconds",
                "Rebuilding state for newly assigned partitions",
                ["worker"],
                buckets=RESTORE_BUCKETS_S,
                registry=r,
            ),
            restored_records=Counter(
                "datastreams_worker_restored_records",
                "Input records re-read while restoring",
                ["worker"],
                registry=r,
            ),
            assigned=Gauge(
                "datastreams_worker_assigned_partitions",
                "Partitions this member owns",
                ["worker"],
                registry=r,
            ),
            dedup_ids=Gauge(
                "datastreams_worker_dedup_ids",
                "Event ids remembered per partition",
                ["topic", "partition"],
                registry=r,
            ),
            dedup_evicted_early=Gauge(
                "datastreams_worker_dedup_evicted_early",
                "Ids forgotten before the window ended because the memory was full",
                ["topic", "partition"],
                registry=r,
            ),
        )
