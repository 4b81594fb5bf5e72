"""One effect, the sinks that deliver it, and the dead letter of one that could not be delivered.

An ``Effect`` is decided from one record (its ``source``) and carries an idempotency key: the
alert id for a webhook, ``<crossing id>/<action>`` for a score action, ``<lead>@<offset>`` for a
score written to a lead field. Every copy of the same decision has the same key, so a receiver
(or the effects ledger) recognises a repeat.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline.consume.record import Record
from pipeline.topics import Headers, OutboundRecord

# Sinks whose effect is repeated by a second call: their delivered keys go to the ledger.
NOT_IDEMPOTENT = frozenset({"marketo_campaign"})


@dataclass(frozen=True)
class Effect:
    sink: str  # the sink that delivers it, and its metric label
    key: str  # the idempotency key
    source: Record  # the record that decided it
    munchkin: str = ""
    lead_id: int = 0
    # what to call: (list id,), (campaign id, token name, token value), (program id, status),
    # (field name,); empty for a webhook
    target: tuple[int | str, ...] = ()
    value: float = 0.0  # a lead field's new value
    body: bytes = b""  # a webhook's body

    @property
    def resource(self) -> tuple[object, ...]:
        """What the effect changes: two effects on one resource must happen in record order
        (an add to a list, then the removal of the same lead)."""
        if self.sink in ("webhook", "marketo_field"):
            # a message each; a lead's field values share one call, the newest winning
            return (self.sink, self.key)
        kind = "list" if self.sink in ("marketo_list", "marketo_unlist") else self.sink
        return (kind, self.munchkin, self.lead_id, self.target[:1])


@dataclass(frozen=True)
class Failure:
    effect: Effect
    reason: str  # sink_failed (out of retries) or sink_refused (refused for good)
    detail: str


class Sink(Protocol):
    async def deliver(self, effects: Sequence[Effect]) -> list[Failure]:
        """Deliver with retries; the effects that could not be delivered, and why."""
        ...


def rounds(effects: Sequence[Effect]) -> list[list[Effect]]:
    """The effects in rounds that may each run at once: an effect goes to the round after the
    last one holding an effect on its resource, so those keep their record order."""
    last: dict[tuple[object, ...], int] = {}
    out: list[list[Effect]] = []
    for e in effects:
        n = last.get(e.resource, -1) + 1
        last[e.resource] = n
        if n == len(out):
            out.append([])
        out[n].append(e)
    return out


def failure(effect: Effect, exc: Exception) -> Failure:
    retriable = bool(getattr(exc, "retriable", False))
    return Failure(effect, "sink_failed" if retriable else "sink_refused", str(exc)[:1024])


def sink_dead_letter(failed: Failure, topic: str, worker: str) -> OutboundRecord:
    """The source record again, with what failed: ``datastreams redrive-effects`` decides the
    same effect from it and delivers it under the same key."""
    effect = failed.effect
    source = effect.source
    headers: Headers = (
        ("ce_id", effect.key.encode()),
        ("dl_reason", failed.reason.encode()),
        ("dl_detail", failed.detail.encode(errors="replace")[:1024]),
        ("dl_sink", effect.sink.encode()),
        ("dl_source", f"{source.partition}/{source.offset}".encode()),
        ("dl_worker", worker.encode()),
        ("munchkin_id", (effect.munchkin or source.munchkin_id or "unknown").encode()),
    )
    return OutboundRecord(
        topic, source.key or b"", source.value or b"", headers, int(time.time() * 1000)
    )
