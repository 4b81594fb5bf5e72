"""The ingress' Prometheus metrics, declared once with closed label sets (no ids in labels).

Built per application on its own registry so that several apps (tests, replicas in one process)
never share counters.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

ROUTES = ("lead-activity", "adobe-io", "challenge", "health", "ready", "metrics", "other")
STREAMS = ("lead-activity", "user-audit", "notification", "unknown")
OUTCOMES = ("accepted", "deadlettered", "rejected")
KEY_RESULTS = ("hit", "fetch", "fetch_error")

LATENCY_BUCKETS_S = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
EVENTS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

M = TypeVar("M", bound=MetricWrapperBase)


class Children(dict[tuple[str, ...], M], Generic[M]):
    """A metric's children by label values, each looked up once per process: ``labels()``
    validates, stringifies and takes a lock on every call, which the request path need not pay.
    Every label set here is closed (routes, statuses, streams, configured tenants)."""

    def __init__(self, metric: M) -> None:
        super().__init__()
        self.metric = metric

    def __missing__(self, values: tuple[str, ...]) -> M:
        child = self[values] = self.metric.labels(*values)
        return child


@dataclass(frozen=True)
class IngestMetrics:
    registry: CollectorRegistry
    requests: Counter
    events: Counter
    publish_latency: Histogram
    events_per_delivery: Histogram
    in_flight: Gauge
    signing_keys: Counter
    challenges: Counter
    auth_failures: Counter
    limited: Counter
    kafka_ready: Gauge
    tenant_events: Counter
    # The request path's children, by label values (``metrics.requests_by["adobe-io", "200"]``).
    requests_by: Children[Counter] = field(init=False, repr=False, compare=False)
    events_by: Children[Counter] = field(init=False, repr=False, compare=False)
    tenant_events_by: Children[Counter] = field(init=False, repr=False, compare=False)
    publish_latency_by: Children[Histogram] = field(init=False, repr=False, compare=False)
    events_per_delivery_by: Children[Histogram] = field(init=False, repr=False, compare=False)
    signing_keys_by: Children[Counter] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in (
            "requests",
            "events",
            "tenant_events",
            "publish_latency",
            "events_per_delivery",
            "signing_keys",
        ):
            object.__setattr__(self, f"{name}_by", Children(getattr(self, name)))

    @classmethod
    def create(cls, tenants: Iterable[str] = ()) -> "IngestMetrics":
        r = CollectorRegistry()
        metrics = cls(
            registry=r,
            requests=Counter(
                "datastreams_http_requests",
                "HTTP requests answered",
                ["route", "status"],
                registry=r,
            ),
            events=Counter(
                "datastreams_events",
                "Events by stream and outcome",
                ["stream", "outcome"],
                registry=r,
            ),
            publish_latency=Histogram(
                "datastreams_publish_latency_seconds",
                "Time from handing a delivery's records to Kafka to every acknowledgement",
                ["result"],
                buckets=LATENCY_BUCKETS_S,
                registry=r,
            ),
            events_per_delivery=Histogram(
                "datastreams_events_per_delivery",
                "Events in one accepted delivery",
                ["route"],
                buckets=EVENTS_BUCKETS,
                registry=r,
            ),
            in_flight=Gauge(
                "datastreams_deliveries_in_flight", "Deliveries being handled now", registry=r
            ),
            signing_keys=Counter(
                "datastreams_signing_keys",
                "Adobe public-key cache lookups by result",
                ["result"],
                registry=r,
            ),
            challenges=Counter(
                "datastreams_validation_challenges",
                "Adobe I/O challenges answered or logged",
                ["kind"],
                registry=r,
            ),
            auth_failures=Counter(
                "datastreams_auth_failures",
                "Rejected deliveries by route and reason code",
                ["route", "reason"],
                registry=r,
            ),
            limited=Counter(
                "datastreams_limited",
                "Deliveries refused by a limit (408, 413, 429, overloaded 503) by route and code",
                ["route", "code"],
                registry=r,
            ),
            tenant_events=Counter(
                "datastreams_tenant_events",
                "Accepted events by tenant (a configured munchkin ID) and stream",
                ["tenant", "stream"],
                registry=r,
            ),
            kafka_ready=Gauge(
                "datastreams_kafka_ready",
                "1 while Kafka answers and the topics are writable",
                registry=r,
            ),
        )
        for tenant in tenants:  # labels exist from the start, so a silent tenant shows as 0
            for stream in STREAMS[:3]:
                metrics.tenant_events_by[tenant, stream]
        return metrics
