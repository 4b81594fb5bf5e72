"""A gated outcome made ready to publish, and what its publication adds to the metrics and logs.

Metrics are updated once per delivery, not per event: the counts are gathered while the records
are built.
"""

import logging
from collections import Counter
from dataclasses import dataclass

from ingest.gate import Outcome
from ingest.metrics import IngestMetrics
from pipeline.envelope import Stream
from pipeline.topics import OutboundRecord, Topics, route, route_dead_letter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A delivery's Kafka records and what the metrics and logs need of it.

    Handlers drop the decoded body and the envelopes once this exists, so a delivery waiting for
    Kafka's acknowledgement holds its serialized records only (about a tenth of the memory).
    """

    records: list[OutboundRecord]
    accepted: Counter[tuple[str, Stream]]  # (munchkin ID, stream) -> events
    dead_letters: list[tuple[str, str | None, str, str]]  # stream, munchkin ID, reason, detail

    @property
    def by_stream(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (_, stream), n in self.accepted.items():
            counts[stream.value] += n
        counts.update(stream for stream, *_ in self.dead_letters)
        return counts


def prepare(outcome: Outcome, topics: Topics) -> Prepared:
    records: list[OutboundRecord] = []
    accepted: Counter[tuple[str, Stream]] = Counter()
    dead_letters = []
    # An Adobe batch is a part per event: the empty steps are skipped, not run 20 times.
    for part in outcome.parts:
        if part.records:
            records += part.records
            for key, n in part.record_tenants.items():
                accepted[key] = accepted.get(key, 0) + n
        if part.envelopes:
            records += [route(e, topics) for e in part.envelopes]
            accepted.update((e.munchkinid, e.stream) for e in part.envelopes)
        if not part.dead_letters:
            continue
        credential = part.principal.credential
        for d in part.dead_letters:
            records.append(route_dead_letter(d, topics, credential))
            stream = d.stream.value if d.stream else "unknown"
            dead_letters.append((stream, d.munchkinid, d.reason, d.detail))
    return Prepared(records, accepted, dead_letters)


def count_unacknowledged(metrics: IngestMetrics, prepared: Prepared, seconds: float) -> None:
    metrics.publish_latency_by["error",].observe(seconds)
    for stream, n in prepared.by_stream.items():
        metrics.events_by[stream, "rejected"].inc(n)


def count_published(
    metrics: IngestMetrics, prepared: Prepared, route_name: str, seconds: float
) -> None:
    metrics.publish_latency_by["ok",].observe(seconds)
    metrics.events_per_delivery_by[route_name,].observe(len(prepared.records))
    tenant_events, events = metrics.tenant_events_by, metrics.events_by
    per_stream: dict[str, int] = {}
    for (tenant, stream), n in prepared.accepted.items():
        # Tenants here passed the tenant gate: configured ones only, a closed label set.
        name = stream.value
        tenant_events[tenant, name].inc(n)
        per_stream[name] = per_stream.get(name, 0) + n
    for name, n in per_stream.items():
        events[name, "accepted"].inc(n)
    for stream_name, munchkin, reason, detail in prepared.dead_letters:
        events[stream_name, "deadlettered"].inc()
        log.warning("dead-lettered an event of %s: %s (%s)", munchkin, reason, detail)
