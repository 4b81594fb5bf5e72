"""What the benchmark sends: request pools for the three shapes, and the envelopes they become.

The pools are made once per run by the simulator's event factory (so the bodies are the
realistic ones) and signed ahead of time: at 0.5 ms per RSA signature a load generator that
signed as it went would measure itself. ``ceiling_records`` turns the direct-push pool into the
very Kafka records the ingress publishes for it (the ingress' own normalize and route), which is
what ceilings A and B produce.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingest.normalize import normalize_direct_push
from pipeline.envelope import format_time
from pipeline.topics import OutboundRecord, Topics, route
from tools.simulate.adobe_io import Delivery
from tools.simulate.direct_push import push_body
from tools.simulate.events import EventFactory, SimEvent
from tools.simulate.signing import SigningKey, signed_headers
from tools.simulate.tenants import SimTenant

PUSH_EVENTS = 500
ADOBE_BATCH_EVENTS = 20


@dataclass(frozen=True)
class Shape:
    name: str
    label: str
    ingress_path: str
    events: int  # per delivery
    start_rate: float  # deliveries/s of the first ramp step


SHAPES = (
    Shape("direct-push", "direct pushes of 500 activities", "/v1/lead-activity", PUSH_EVENTS, 6),
    Shape("adobe-batch", "Adobe I/O batches of 20", "/v1/adobe-io", ADOBE_BATCH_EVENTS, 60),
    Shape("adobe-single", "Adobe I/O single events", "/v1/adobe-io", 1, 150),
)


@dataclass(frozen=True)
class PooledRequest:
    headers: dict[str, str]
    body: bytes
    events: int

    def line(self) -> bytes:
        doc = {"headers": self.headers, "body": self.body.decode(), "events": self.events}
        return orjson.dumps(doc)


class Workload:
    def __init__(
        self, tenants: tuple[SimTenant, ...], keys: tuple[SigningKey, SigningKey], seed: int
    ) -> None:
        self.tenants = tenants
        self.keys = keys
        self.factory = EventFactory(random.Random(seed), tenants, lambda: datetime.now(UTC))  # noqa: S311
        self.pushes: list[tuple[SimTenant, list[SimEvent]]] = []

    def pool(self, shape: Shape, size: int) -> list[PooledRequest]:
        if shape.name == "direct-push":
            return [self._push(n) for n in range(size)]
        return [self._adobe(n, shape.events) for n in range(size)]

    def _push(self, n: int) -> PooledRequest:
        tenant = self.tenants[n % len(self.tenants)]
        events = [self.factory.activity(tenant) for _ in range(PUSH_EVENTS)]
        self.pushes.append((tenant, events))
        headers = {"Authorization": f"Bearer {tenant.token}", "Content-Type": "application/json"}
        return PooledRequest(headers, push_body(tenant.munchkin_id, n, events), PUSH_EVENTS)

    def _adobe(self, n: int, count: int) -> PooledRequest:
        tenant = self.tenants[n % len(self.tenants)]
        events = [self.factory.adobe_event(tenant) for _ in range(count)]
        docs = [e.doc for e in events]
        body = orjson.dumps(docs if count > 1 else docs[0])
        delivery = Delivery(events, body, signed_headers(body, *self.keys))
        return PooledRequest(delivery.headers(), body, count)

    def ceiling_records(self, topics: Topics) -> list[list[OutboundRecord]]:
        """The records the ingress publishes for each pooled direct push (made by ``pool``)."""
        at = format_time(datetime.now(UTC))
        deliveries = []
        for tenant, events in self.pushes:
            outcome = normalize_direct_push([e.doc for e in events], tenant.munchkin_id, at)
            deliveries.append([route(envelope, topics) for envelope in outcome.envelopes])
        return deliveries


def write_pool(path: Path, pool: list[PooledRequest]) -> None:
    path.write_bytes(b"\n".join(r.line() for r in pool) + b"\n")
